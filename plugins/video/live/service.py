"""Live events for their owner: the events of a user's own videos as they happen, resumed
from the outbox after a reconnect, under a cap on open streams per user.

A stream subscribes to the app's event broker first and only then reads the outbox after
the client's last id, so nothing committed in between is missed; live events at or below
the last id sent are the replay's own again and are dropped. Between events it yields
`HEARTBEAT` every `live_heartbeat_seconds`, and each heartbeat renews the stream's slot.

The cap is counted in the app's cache, so with `cache_redis` it holds across every worker
and machine: user `u` may hold the slots `live-streams:u:0` … `:{cap - 1}`, each taken with
`add` (set if absent) and an expiry of a few heartbeats, renewed at each heartbeat and
deleted when the stream ends. A process that dies leaves its slots to expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Final

import anyio
import attrs

from core.cache import Cache, CacheUnavailable
from core.context import AppContext
from core.errors import TooManyRequests
from core.events import Event, EventBroker, events_since, runtime
from plugins.video.config import VideoSettings

log = logging.getLogger("itube.video.live")

# Events read from the outbox per query while replaying.
REPLAY_PAGE = 500
# Live events a stream may hold before it is sent them; past this it waits for the client.
BACKLOG = 100
# The longest a stream's clean-up (freeing its slot) may take once it ends.
CLEANUP_SECONDS = 2.0


@attrs.frozen
class Marker:
    """Something a stream says that is not an event."""

    name: str


# Yielded once the stream is subscribed: every event from then on will be sent.
OPENED: Final = Marker("open")
# Yielded when nothing happened for a heartbeat's length.
HEARTBEAT: Final = Marker("heartbeat")
_END: Final = object()


def slot_seconds(settings: VideoSettings) -> float:
    """How long a slot outlives its last renewal: a few heartbeats, so a late one is fine."""
    return 3 * settings.live_heartbeat_seconds + 5


@attrs.define
class StreamSlot:
    """One of a user's stream slots, held in the cache; None key when the cache is down."""

    cache: Cache
    key: str | None
    token: bytes
    ttl: float

    async def renew(self) -> None:
        if self.key is None:
            return
        with contextlib.suppress(CacheUnavailable):
            await self.cache.set(self.key, self.token, self.ttl)

    async def release(self) -> None:
        if self.key is None:
            return
        with contextlib.suppress(CacheUnavailable):
            if await self.cache.get(self.key) == self.token:  # not one taken after expiry
                await self.cache.delete(self.key)


async def claim_slot(cache: Cache, owner_id: str, settings: VideoSettings) -> StreamSlot:
    """A free slot of `owner_id`'s, or a 429 naming the cap. A cache that does not answer
    does not keep a user from their stream: the stream then holds no slot."""
    token = secrets.token_bytes(12)
    ttl = slot_seconds(settings)
    for number in range(settings.live_max_streams_per_user):
        key = f"live-streams:{owner_id}:{number}"
        try:
            if await cache.add(key, token, ttl):
                return StreamSlot(cache, key, token, ttl)
        except CacheUnavailable:
            return StreamSlot(cache, None, token, ttl)
    raise TooManyRequests(
        f"At most {settings.live_max_streams_per_user} open event streams per user; "
        "close one first", retry_after=int(settings.live_heartbeat_seconds) or 1,
    )


@attrs.define
class LiveStream:
    """The events of one owner's videos, from after `after_id` (None: from now on)."""

    broker: EventBroker
    owner_id: str
    after_id: int | None
    heartbeat_seconds: float
    slot: StreamSlot

    async def messages(self) -> AsyncGenerator[Event | Marker, None]:
        """Replayed events, then live ones, with `HEARTBEAT` between; ends when the broker
        ends this subscription (the client reconnects and resumes). Frees the slot at the
        end, however it ends (the client gone, the app stopping)."""
        try:
            async with self.broker.subscribe() as live:
                queue: asyncio.Queue[object] = asyncio.Queue(BACKLOG)
                pump = asyncio.create_task(_pump(live, self.owner_id, queue))
                try:
                    yield OPENED
                    last_id = self.after_id
                    if last_id is not None:
                        async for event in self._replay(last_id):
                            last_id = event.id
                            yield event
                    async for item in self._live(queue):
                        if isinstance(item, Event):
                            if last_id is not None and item.id <= last_id:
                                continue  # already sent by the replay
                            last_id = item.id
                        yield item
                finally:
                    pump.cancel()
                    with anyio.CancelScope(shield=True):
                        with contextlib.suppress(asyncio.CancelledError):
                            await pump
        finally:
            with anyio.move_on_after(CLEANUP_SECONDS, shield=True):
                await self.slot.release()

    async def _replay(self, after_id: int) -> AsyncIterator[Event]:
        while True:
            page = await events_since(after_id=after_id, owner_id=self.owner_id,
                                      limit=REPLAY_PAGE)
            for event in page:
                yield event
            if len(page) < REPLAY_PAGE:
                return
            after_id = page[-1].id

    async def _live(self, queue: asyncio.Queue[object]) -> AsyncIterator[Event | Marker]:
        """Live events as they come; `HEARTBEAT` after a heartbeat's length without one.
        The slot is renewed once per heartbeat's length, busy or idle."""
        renewed = time.monotonic()
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), self.heartbeat_seconds)
            except TimeoutError:
                item = HEARTBEAT
            if time.monotonic() - renewed >= self.heartbeat_seconds:
                await self.slot.renew()
                renewed = time.monotonic()
            if item is _END:
                return
            assert isinstance(item, Event | Marker)
            yield item


async def _pump(live: AsyncIterator[Event], owner_id: str, queue: asyncio.Queue[object]) -> None:
    """The owner's events from the subscription into the stream's queue, then `_END`."""
    try:
        async for event in live:
            if event.owner_id == owner_id:
                await queue.put(event)
    except Exception:
        log.exception("live events: the broker's subscription failed; ending the stream")
    await queue.put(_END)


async def open_stream(ctx: AppContext, owner_id: str, after_id: int | None) -> LiveStream:
    """A stream of `owner_id`'s events holding one of their slots (429 when none is free)."""
    settings: VideoSettings = ctx.settings("video")
    slot = await claim_slot(ctx.cache, owner_id, settings)
    return LiveStream(runtime(ctx).broker, owner_id, after_id,
                      settings.live_heartbeat_seconds, slot)
