"""When a failed delivery is tried again: the retry schedule, with full jitter."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence

# A random number in [0, 1): injectable so tests can pin the jitter.
Jitter = Callable[[], float]


def next_attempt(
    now: dt.datetime,
    attempts: int,
    schedule: Sequence[float],
    *,
    retry_after: float | None = None,
    jitter: Jitter = random.random,
) -> dt.datetime | None:
    """When to try again after the `attempts`-th attempt failed, or None when the
    schedule is spent. The wait is a random fraction of the schedule's step (full
    jitter: retries of many deliveries that failed together spread out instead of
    arriving together), and never shorter than the receiver's `Retry-After`."""
    if attempts > len(schedule):
        return None
    step = schedule[attempts - 1]
    wait = step * jitter()
    if retry_after is not None:
        wait = max(wait, min(retry_after, max(schedule, default=0.0)))
    return now + dt.timedelta(seconds=wait)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header given in seconds; None otherwise (an HTTP date
    is rare from a webhook receiver and is ignored)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
