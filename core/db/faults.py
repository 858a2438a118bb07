"""Database faults: telling "cannot answer now" from "the query is wrong", and turning the
former into `ServiceUnavailable` (503 with `Retry-After`) with one warning per interval."""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from collections.abc import Callable
from types import TracebackType

import asyncpg

from core.errors import ServiceUnavailable

log = logging.getLogger("itube.db")

UNAVAILABLE = "The database is not answering; try again shortly"
# A warning per interval while the database fails, not one per request.
REPORT_EVERY_SECONDS = 5.0


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot answer now (down, unreachable, frozen, out of
    connections or resources, shutting down, locked) rather than that a query is wrong."""
    if isinstance(error, OSError):  # refused, reset, unreachable; TimeoutError is one too
        return True
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.InsufficientResourcesError
                  | asyncpg.exceptions.OperatorInterventionError):
        return True  # lost connections; too many clients; cancelled statements, shutdowns
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error)
    return False


def left_unanswered(error: BaseException) -> bool:
    """Whether a connection that raised `error` may still owe an answer (timed out, cut,
    cancelled): such a connection is dropped, never reset or reused."""
    if isinstance(error, ServiceUnavailable) and error.__cause__ is not None:
        error = error.__cause__
    return isinstance(error, asyncio.CancelledError) or is_unavailable(error)


class FaultGuard:
    """Turns database faults into `ServiceUnavailable`, with one warning per interval."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_report = -math.inf

    def translating(self) -> FaultGuard:
        """The guard, as the context manager of a statement (a class's rather than a
        generator's: ~1 µs less a statement)."""
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if isinstance(error, Exception) and is_unavailable(error):
            self._report(error)
            raise ServiceUnavailable(UNAVAILABLE) from error

    def _report(self, error: Exception) -> None:
        now = self._clock()
        if now - self._last_report >= REPORT_EVERY_SECONDS:
            self._last_report = now
            log.warning("database unavailable (%s: %s); answering 503",
                        type(error).__name__, error)
