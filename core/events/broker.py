"""The kernel's in-process broker: every subscriber of this process gets every event
published in it. Enough for one worker; several workers need a shared broker (the
`cache_redis` plugin's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from core.events.model import Event, EventBroker

# Events a slow subscriber may fall behind by before it is dropped (its stream ends and
# the client resumes from the outbox with Last-Event-ID).
SUBSCRIBER_BUFFER = 1000
_CLOSED = object()


class MemoryBroker:
    """Fan-out to per-subscriber queues."""

    def __init__(self, buffer: int = SUBSCRIBER_BUFFER) -> None:
        self.buffer = buffer
        self._queues: set[asyncio.Queue[object]] = set()

    async def publish(self, event: Event) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._drop(queue)

    @asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        queue: asyncio.Queue[object] = asyncio.Queue(self.buffer + 1)
        self._queues.add(queue)
        try:
            yield self._events(queue)
        finally:
            self._queues.discard(queue)

    async def close(self) -> None:
        for queue in list(self._queues):
            self._drop(queue)

    def _drop(self, queue: asyncio.Queue[object]) -> None:
        self._queues.discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_CLOSED)

    @staticmethod
    async def _events(queue: asyncio.Queue[object]) -> AsyncIterator[Event]:
        while True:
            item = await queue.get()
            if item is _CLOSED:
                return
            assert isinstance(item, Event)
            yield item


class BrokerSink:
    """The sink the kernel adds: each dispatched event published to the broker, so every
    worker's live streams see it whichever worker dispatched it."""

    name = "broker"

    def __init__(self, broker: EventBroker) -> None:
        self.broker = broker

    async def deliver(self, events: Sequence[Event]) -> None:
        for event in events:
            await self.broker.publish(event)
