"""Keep-alive connections closed once they have waited too long for their next request,
found by one periodic sweep of the loop's waiting connections.

uvicorn arms a timer after every response and cancels it when the next request arrives:
a timer handle made and discarded per request, which under load cost a cached read about
6% of its CPU. Here a response only notes when its connection's wait ends."""

from __future__ import annotations

import asyncio
import weakref
from typing import Protocol

# The longest time between sweeps: a connection closes at most this long after its wait
# has ended (sooner for short waits, swept five times a wait).
MAX_SWEEP_SECONDS = 1.0
_SWEEPS_PER_WAIT = 5


class Waiting(Protocol):
    def close_idle(self) -> None:
        """Close the connection: it waited too long for its next request."""


class IdleConnections:
    """The connections of one loop that wait for their next request, each with when its
    wait ends; swept while any waits."""

    def __init__(self, loop: asyncio.AbstractEventLoop, wait_seconds: float) -> None:
        self._loop = loop
        self._wait_seconds = wait_seconds
        self._every = min(MAX_SWEEP_SECONDS, wait_seconds / _SWEEPS_PER_WAIT)
        self._ends: dict[Waiting, float] = {}
        self._sweep: asyncio.TimerHandle | None = None

    def waiting(self, connection: Waiting) -> None:
        """`connection` has answered and waits for its next request."""
        self._ends[connection] = self._loop.time() + self._wait_seconds
        if self._sweep is None:
            self._sweep = self._loop.call_later(self._every, self._close_expired)

    def busy(self, connection: Waiting) -> None:
        """`connection` received a request, or is gone: it waits no longer."""
        self._ends.pop(connection, None)

    def _close_expired(self) -> None:
        self._sweep = None
        now = self._loop.time()
        expired = [connection for connection, end in self._ends.items() if end <= now]
        for connection in expired:
            del self._ends[connection]
            connection.close_idle()
        if self._ends:
            self._sweep = self._loop.call_later(self._every, self._close_expired)


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                    dict[float, IdleConnections]] = weakref.WeakKeyDictionary()


def idle_connections(loop: asyncio.AbstractEventLoop, wait_seconds: float) -> IdleConnections:
    """The connections of `loop` that wait `wait_seconds` for a request: one sweep for all."""
    by_wait = _by_loop.setdefault(loop, {})
    found = by_wait.get(wait_seconds)
    if found is None:
        found = by_wait[wait_seconds] = IdleConnections(loop, wait_seconds)
    return found
