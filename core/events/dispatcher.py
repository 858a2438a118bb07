"""The dispatcher: one task per sink in each process, handing the sink the outbox's
events batch after batch, polling every `dispatch_interval_seconds` and at once when
woken after a commit. A sink that raises keeps its offset and is offered the same batch
again after a backoff that doubles up to `max_backoff_seconds`; the failure is logged once
per streak, and its end too. Stopping lets a batch in hand finish (for up to
STOP_GRACE_SECONDS, then it is cancelled and offered again after the restart): a delivery
cancelled mid-way can leave work running where nobody waits for it (on SQLite, a
connection still opening in aiosqlite's thread after the event loop has closed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence

from core.events.model import EventSink
from core.events.offsets import deliver_next, ensure_offset

log = logging.getLogger("itube.events")

# Within the stop's clean-up bound (core.server.stopping.CLEANUP_SECONDS), with room for
# closing the pools after it.
STOP_GRACE_SECONDS = 2.0


class SinkWorker:
    """Delivers one sink's events, in id order, until stopped."""

    def __init__(self, sink: EventSink, *, interval: float, batch_size: int,
                 max_backoff: float) -> None:
        self.sink = sink
        self.interval = interval
        self.batch_size = batch_size
        self.max_backoff = max_backoff
        self.woken = asyncio.Event()
        self.stopping = asyncio.Event()
        self.failures = 0
        self.delivered = 0

    async def prepare(self) -> bool:
        """Create the sink's offset if it has none; False (logged) when that failed."""
        try:
            await ensure_offset(self.sink.name)
        except Exception:
            self._failed("event sink offset could not be created")
            return False
        return True

    async def run(self, prepared: bool = False) -> None:
        while not prepared:
            await self._pause(self._backoff(), wakeable=False)
            if self.stopping.is_set():
                return
            prepared = await self.prepare()
        while not self.stopping.is_set():
            self.woken.clear()
            try:
                taken = await deliver_next(self.sink, self.batch_size)
            except Exception:
                self._failed("event delivery failed")
                await self._pause(self._backoff(), wakeable=False)
                continue
            if self.failures:
                log.info("event delivery recovered",
                         extra={"sink": self.sink.name, "failures": self.failures})
                self.failures = 0
            self.delivered += taken
            if taken < self.batch_size:
                await self._pause(self.interval, wakeable=True)

    def stop(self) -> None:
        """End `run` once the batch in hand, if any, is delivered."""
        self.stopping.set()
        self.woken.set()

    def _failed(self, message: str) -> None:
        self.failures += 1
        if self.failures == 1:
            log.exception(message, extra={"sink": self.sink.name})

    def _backoff(self) -> float:
        backoff = min(self.max_backoff, self.interval * 2 ** min(self.failures, 16))
        return backoff * random.uniform(0.8, 1.0)

    async def _pause(self, seconds: float, *, wakeable: bool) -> None:
        """Sleep `seconds`, less when stopped (or, if `wakeable`, when woken)."""
        until = self.woken if wakeable else self.stopping
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), seconds)


class Dispatcher:
    """The sinks' workers of one process."""

    def __init__(self, sinks: Sequence[EventSink], *, interval: float, batch_size: int,
                 max_backoff: float) -> None:
        self.workers = [SinkWorker(sink, interval=interval, batch_size=batch_size,
                                   max_backoff=max_backoff) for sink in sinks]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Give each new sink its offset, then start delivering. Offsets are made before
        the app serves, so a new sink takes every event of the requests that follow."""
        for worker in self.workers:
            prepared = await worker.prepare()
            self._tasks.append(asyncio.create_task(worker.run(prepared),
                                                   name=f"events:{worker.sink.name}"))

    def wake(self) -> None:
        for worker in self.workers:
            worker.woken.set()

    async def stop(self) -> None:
        """Let each worker deliver the batch in hand, then end it; cancel one still
        delivering after STOP_GRACE_SECONDS (its batch is offered again at the next start)."""
        for worker in self.workers:
            worker.stop()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=STOP_GRACE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
