"""Waiting for what a stated bound promises, up to a deadline, on a busy machine."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

# The session recheck bound the cross-process tests run with.
RECHECK_SECONDS = 1.0
# How long past a bound a test waits for what the bound promises.
SLACK_SECONDS = 10.0


def refused_before(deadline: float, ask: Callable[[], httpx.Response]) -> bool:
    """True once `ask()` answers 401, False if it still does not by `deadline`
    (`time.monotonic()`). Any answer but 200 or 401 fails at once."""
    while True:
        status = ask().status_code
        assert status in (200, 401), status
        if status == 401:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
