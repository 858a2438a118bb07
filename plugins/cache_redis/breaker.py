"""A circuit breaker: after a failure, stop calling the store for a while, then probe it."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed, calls go through. A failure opens it for `open_seconds`, during which calls
    are refused at once; then a single call probes the store: its success closes the
    breaker, its failure opens it again. Reports once per interval, never once per call."""

    def __init__(
        self,
        open_seconds: float,
        *,
        log: logging.Logger,
        what: str,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.open_seconds = open_seconds
        self._log = log
        self._what = what
        self._clock = clock
        self._open_until: float | None = None
        self._probing = False
        self._last_report = -math.inf

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def allow(self) -> bool:
        """May this call reach the store? At most one probe at a time once the interval ends."""
        if self._open_until is None:
            return True
        if self._probing or self._clock() < self._open_until:
            return False
        self._probing = True
        return True

    def succeeded(self) -> None:
        if self._open_until is not None:
            self._log.warning("%s answers again; using it", self._what)
        self._open_until = None
        self._probing = False

    def failed(self, error: BaseException) -> None:
        now = self._clock()
        self._open_until = now + self.open_seconds
        self._probing = False
        if now - self._last_report >= self.open_seconds:
            self._last_report = now
            self._log.warning(
                "%s unavailable (%s: %s); bypassing it for %.1fs",
                self._what, type(error).__name__, error, self.open_seconds,
            )

    def abandoned(self) -> None:
        """The call ended without an answer either way (cancelled): free the probe slot."""
        self._probing = False
