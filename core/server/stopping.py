"""Stopping: SIGINT and SIGTERM during start-up and while serving, a stop that ends in
bounded time, and the exit statuses that say how the process ended."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.lifespan.on import LifespanOn, LifespanSendMessage

from core.errors import ConfigError

log = logging.getLogger("itube.server")

EXIT_STOPPED = 0  # stopped by SIGINT or SIGTERM, during start-up too
EXIT_FORCED = 1  # the stop outlived its bound and was forced
EXIT_STARTUP_FAILED = 3  # a port was busy, or the app's start-up failed (uvicorn's code)
# After the requests in flight are done (or cancelled): shutdown hooks, closing pools.
CLEANUP_SECONDS = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def exit_on_stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM end the process with the status of a requested stop, wherever
    uvicorn's own handling is not in place: before it takes over (checking the config), and
    when it hands back the signal that stopped it. (Python leaves SIGTERM to the system,
    which ignores it for a container's first process.)"""
    previous = {sig: signal.signal(sig, _exit_stopped) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_stopped(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(EXIT_STOPPED)


class StopSignals:
    """SIGINT and SIGTERM in a serving process, on top of uvicorn's own handling.

    uvicorn only notes a signal and looks at the note once start-up is over, so a start-up
    that hung (a busy emulator port did) ignored both for ever. Installed before the app is
    imported, this lets a signal during start-up abandon it at once, and from any signal
    on, the process ends within a bound even when something it waits for never returns (a
    thread cannot be cancelled).
    """

    def __init__(self, graceful_seconds: float) -> None:
        self.graceful_seconds = graceful_seconds
        self.starting = True
        self.asked: signal.Signals | None = None
        self.event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._deadline: threading.Timer | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in STOP_SIGNALS:
            signal.signal(sig, functools.partial(self._on_signal, signal.getsignal(sig)))

    def _on_signal(self, uvicorns: Any, sig: int, frame: FrameType | None) -> None:
        if callable(uvicorns):
            uvicorns(sig, frame)  # begins uvicorn's graceful shutdown once serving
        first = self.asked is None
        self.asked = signal.Signals(sig)
        if self.starting:
            if first:
                log.info("start-up interrupted", extra={"signal": self.asked.name})
            self.arm_deadline(CLEANUP_SECONDS)
            self._loop.call_soon_threadsafe(self.event.set)
        else:
            self.arm_deadline(self.graceful_seconds + CLEANUP_SECONDS)

    def arm_deadline(self, seconds: float) -> None:
        """End the process in `seconds` unless it has ended by then (the first call wins)."""
        if self._deadline is not None:
            return
        self._deadline = threading.Timer(seconds, _force_exit, args=(seconds,))
        self._deadline.daemon = True
        self._deadline.start()


def _force_exit(seconds: float) -> None:
    log.error("the process did not stop within %.0f s; exiting now", seconds)
    for handler in logging.getLogger("itube").handlers:
        handler.flush()
    os._exit(EXIT_FORCED)


class StoppableLifespan(LifespanOn):
    """uvicorn's lifespan runner: a start-up that `StopSignals` can abandon, a shutdown
    with a deadline, and a failed start-up told in one line when the config is the cause."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        stop_signals = getattr(config, "stop_signals", None)  # set by ServerConfig.load
        assert isinstance(stop_signals, StopSignals)
        self.stop_signals = stop_signals
        self._abandoned = False
        self._app_task: asyncio.Task[Any] | None = None

    async def startup(self) -> None:
        stop = self.stop_signals
        if stop.asked is None:
            starting = asyncio.ensure_future(super().startup())
            stopping = asyncio.ensure_future(stop.event.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if starting.done():
                stop.starting = False
                return starting.result()
            starting.cancel()
        self._abandon_startup()

    async def shutdown(self) -> None:
        self.stop_signals.arm_deadline(CLEANUP_SECONDS)
        await super().shutdown()

    async def main(self) -> None:
        self._app_task = asyncio.current_task()
        await super().main()

    async def send(self, message: LifespanSendMessage) -> None:
        if message["type"] == "lifespan.startup.failed":
            self._report_startup_failure(message.get("message", ""))
            message = {"type": "lifespan.startup.failed", "message": ""}
        await super().send(message)

    def _report_startup_failure(self, traceback_text: str) -> None:
        if self._abandoned:
            return  # our own cancellation, not a failure
        # Starlette sends this from inside its `except` block: the exception is at hand.
        failure = sys.exc_info()[1]
        if isinstance(failure, ConfigError):
            log.error("start-up failed: %s", failure)
        elif failure is not None:
            log.error("start-up failed", exc_info=failure)
        else:
            log.error("start-up failed: %s", traceback_text)

    def _abandon_startup(self) -> None:
        self._abandoned = True
        self.should_exit = True  # uvicorn's server then exits instead of serving
        if self._app_task is not None:
            self._app_task.cancel()  # the app's start-up unwinds what it opened so far
