"""`RedisBroker`: core's event broker on Redis pub/sub, so the live streams of every worker
and machine see every event, whichever process dispatched it.

One channel, `{key_prefix}:v{schema_version}:events`. Each process holds one subscribing
connection, opened at the first subscriber, and fans what arrives out to its local
subscribers, so a thousand open streams cost one Redis connection, not a thousand. When
Redis goes away the listener logs it once, retries with a growing pause and subscribes
again when Redis is back; streams stay open meanwhile. Events published while a process
was not subscribed do not reach its streams (a client resumes them from the outbox with
`Last-Event-ID`); a publish that fails raises, so the dispatcher offers the event again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from core.events import Event
from plugins.cache_redis.backend import UNREACHABLE, connection_pool
from plugins.cache_redis.config import RedisCacheSettings

log = logging.getLogger("itube.cache_redis.broker")

# Events a subscriber may fall behind by; past this its subscription ends, so its stream
# closes and the client resumes from the outbox instead of the process holding them all.
SUBSCRIBER_BACKLOG = 1_000
# How long one wait for a message lasts; between waits the listener may ping.
POLL_SECONDS = 1.0
# A subscribing connection that has said nothing (not even a pong) this long is dead.
PING_SECONDS = 5.0
SILENCE_SECONDS = 3 * PING_SECONDS
# How long a new subscriber waits for the listener to be subscribed (the first one, or
# after an outage) before it goes on regardless.
SUBSCRIBE_WAIT_SECONDS = 2.0
# The pause before subscribing again after a failure grows up to this.
MAX_RETRY_SECONDS = 5.0
_END = None  # put on a subscriber's queue: its iterator ends


def encode_event(event: Event) -> bytes:
    return orjson.dumps(event.to_json_dict())


def decode_event(payload: bytes) -> Event:
    fields: dict[str, Any] = orjson.loads(payload)
    return Event(id=int(fields["id"]), type=fields["type"], subject=fields["subject"],
                 owner_id=fields["owner_id"],
                 occurred_at=datetime.fromisoformat(fields["occurred_at"]),
                 data=fields["data"])


class _Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(SUBSCRIBER_BACKLOG + 1)
        self.ended = False

    def offer(self, event: Event | None) -> None:
        if self.ended:
            return
        if event is _END or self.queue.qsize() >= SUBSCRIBER_BACKLOG:
            self.ended = True
            self.queue.put_nowait(_END)  # the one slot kept free for it
            return
        self.queue.put_nowait(event)

    async def events(self) -> AsyncIterator[Event]:
        while (event := await self.queue.get()) is not _END:
            yield event


class RedisBroker:
    """Publish with PUBLISH; subscribe through this process's one listening connection."""

    def __init__(self, settings: RedisCacheSettings):
        self.channel = f"{settings.key_prefix}:v{settings.schema_version}:events"
        self._settings = settings
        self._redis: aioredis.Redis | None = None
        self._subscribers: set[_Subscriber] = set()
        self._listener: asyncio.Task[None] | None = None
        # Set while the listener is subscribed (tests and readiness wait on it).
        self.listening = asyncio.Event()
        self._subscribed = False
        self._outage_reported = False

    def _client(self) -> aioredis.Redis:
        if self._redis is None:
            self._redis = aioredis.Redis.from_pool(connection_pool(self._settings))
        return self._redis

    async def publish(self, event: Event) -> None:
        """Raises when Redis does not take it: the dispatcher offers the event again."""
        await self._client().publish(self.channel, encode_event(event))

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[AsyncIterator[Event]]:
        subscriber = _Subscriber()
        self._subscribers.add(subscriber)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.create_task(self._listen(), name="redis-event-broker")
        try:
            with contextlib.suppress(TimeoutError):
                # so an event published right after `subscribe` returns is not missed
                await asyncio.wait_for(self.listening.wait(), SUBSCRIBE_WAIT_SECONDS)
            yield subscriber.events()
        finally:
            self._subscribers.discard(subscriber)

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        for subscriber in list(self._subscribers):
            subscriber.offer(_END)
        redis, self._redis = self._redis, None
        if redis is not None:
            await redis.aclose()
            await redis.connection_pool.disconnect()

    async def _listen(self) -> None:
        """Subscribe, fan out, and subscribe again after every failure, until closed."""
        pause = 0.1
        while True:
            try:
                await self._relay()
            except (*UNREACHABLE, RedisError) as exc:
                if self._subscribed:
                    pause = 0.1  # it had come back: a new outage starts from the start
                self._subscribed = False
                if not self._outage_reported:
                    self._outage_reported = True
                    log.warning("event broker: Redis unavailable (%s); subscribing again "
                                "when it answers", type(exc).__name__)
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_RETRY_SECONDS)

    async def _relay(self) -> None:
        pubsub = self._client().pubsub()
        try:
            await pubsub.subscribe(self.channel)
            last_heard = last_ping = time.monotonic()
            while True:
                message = await pubsub.get_message(timeout=POLL_SECONDS)
                now = time.monotonic()
                if message is not None:
                    last_heard = now
                    self._on_message(message)
                elif now - last_heard > SILENCE_SECONDS:
                    raise TimeoutError("the subscribing connection went silent")
                if now - last_ping > PING_SECONDS:
                    last_ping = now
                    await pubsub.ping()
        finally:
            self.listening.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            if self._outage_reported:
                self._outage_reported = False
                log.warning("event broker: Redis answers again; subscribed to %s",
                            self.channel)
            self._subscribed = True
            self.listening.set()
            return
        if kind != "message":
            return  # pongs: the connection is alive
        try:
            event = decode_event(message["data"])
        except (ValueError, KeyError, TypeError):
            log.warning("event broker: dropped a message that is not an event")
            return
        for subscriber in list(self._subscribers):
            subscriber.offer(event)
