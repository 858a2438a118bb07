"""`RedisCache`: core's cache protocol on redis.asyncio, failing fast and never failing a
request. Every call goes through a circuit breaker; get/set/claim/delete/ping raise
`CacheUnavailable` when Redis fails or the breaker is open, while add/incr/ttl (rate-limit
counters, replay caches, locks) are answered from a per-process store until Redis is back.
The commands of calls made in the same turn of the event loop share one pipeline
(`pipelining.AutoPipeline`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.maint_notifications import MaintNotificationsConfig

from core.cache import CacheUnavailable, MemoryCache, is_tombstone
from plugins.cache_redis.breaker import CircuitBreaker
from plugins.cache_redis.config import RedisCacheSettings
from plugins.cache_redis.pipelining import AutoPipeline

T = TypeVar("T")
log = logging.getLogger("itube.cache_redis")

# Errors that say Redis is unreachable or too slow; they open the breaker. Other Redis
# errors (a wrong type, a script error) come from a Redis that answers.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
# Invalidations kept while Redis is unreachable; beyond this the oldest are dropped (their
# entries still expire with their TTL).
MAX_UNSENT_DELETES = 10_000
# A failed invalidation: None for a delete, or the tombstone and its hold in seconds.
Unsent = tuple[bytes, float] | None
# `claim`: SET NX for each key, one round trip and one reply (a list of 0 and 1) for all,
# where a pipeline would parse a reply per key.
CLAIM_SCRIPT = """
local taken = {}
for index, key in ipairs(KEYS) do
  taken[index] = redis.call('SET', key, '', 'PX', ARGV[1], 'NX') and 1 or 0
end
return taken
"""


def connection_pool(settings: RedisCacheSettings) -> aioredis.ConnectionPool:
    """One pool per app: fail-fast timeouts and no retries (redis-py's default retries with
    backoff cost seconds per call against a down Redis).

    Maintenance notifications stay off: redis-py 8 enables them ("auto") with RESP3, and
    while they are on its pool skips the check that replaces a pooled connection the server
    has closed; after a Redis restart each dead connection would then fail one call and open
    the breaker again."""
    options: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout_seconds,
        "socket_connect_timeout": settings.connect_timeout_seconds,
        "retry": Retry(NoBackoff(), 0),
        "max_connections": settings.max_connections,
        "maint_notifications_config": MaintNotificationsConfig(enabled=False),
    }
    if settings.url:
        return aioredis.ConnectionPool.from_url(settings.url, **options)
    if settings.ssl:
        options["connection_class"] = aioredis.SSLConnection
    return aioredis.ConnectionPool(
        host=settings.host,
        port=settings.port,
        db=settings.db,
        username=settings.username or None,
        password=settings.password or None,
        **options,
    )


def milliseconds(ttl: float) -> int:
    return max(1, math.ceil(ttl * 1000))


class RedisCache:
    """The Redis backend. `open()` in the app's startup, `close()` at shutdown."""

    name = "redis"
    shared = True

    def __init__(self, settings: RedisCacheSettings):
        self.settings = settings
        self.prefix = f"{settings.key_prefix}:v{settings.schema_version}:"
        self.breaker = CircuitBreaker(settings.breaker_open_seconds, log=log, what="redis")
        self._local = (
            MemoryCache(max_entries=settings.local_fallback_entries)
            if settings.local_fallback_entries
            else None
        )
        self._redis: AutoPipeline | None = None
        # Keys (as stored) whose invalidation could not reach Redis, oldest first (ordered,
        # so the oldest is found at once when the bound drops it).
        self._unsent_deletes: OrderedDict[str, Unsent] = OrderedDict()
        self._sending_deletes = asyncio.Lock()

    def key(self, key: str) -> str:
        """The key as stored in Redis."""
        return self.prefix + key

    async def open(self) -> None:
        """Create the connection pool; a Redis that is down is reported, not fatal."""
        if self._redis is None:
            self._redis = AutoPipeline(aioredis.Redis.from_pool(connection_pool(self.settings)))
        # A failure is logged by the breaker; requests are served from the source of truth.
        with contextlib.suppress(CacheUnavailable):
            await self.ping()

    async def close(self) -> None:
        redis, self._redis = self._redis, None
        if redis is not None:
            await redis.close()
            await redis.client.aclose()
        if self._local is not None:
            await self._local.close()

    async def _run(self, command: Callable[[AutoPipeline], Awaitable[T]]) -> T:
        redis = self._redis
        if redis is None:
            raise CacheUnavailable("redis cache is not open")
        if not self.breaker.allow():
            raise CacheUnavailable("redis unavailable (circuit open)")
        try:
            if self._unsent_deletes or self._sending_deletes.locked():
                await self._send_deletes(redis.client)
            result = await command(redis)
        except UNREACHABLE as exc:
            self.breaker.failed(exc)
            raise CacheUnavailable(f"redis unavailable: {type(exc).__name__}") from exc
        except RedisError as exc:
            self.breaker.succeeded()
            raise CacheUnavailable(f"redis refused the command: {exc}") from exc
        except BaseException:
            self.breaker.abandoned()
            raise
        self.breaker.succeeded()
        return result

    def _remember_deletes(self, stored_keys: list[str]) -> None:
        for stored in stored_keys:
            self._remember(stored, None)

    def _remember(self, stored: str, unsent: Unsent) -> None:
        # A tombstone does all a delete does and more: it is never replaced by a delete.
        if unsent is not None or self._unsent_deletes.get(stored) is None:
            self._unsent_deletes[stored] = unsent
        while len(self._unsent_deletes) > MAX_UNSENT_DELETES:
            self._unsent_deletes.popitem(last=False)

    async def _send_deletes(self, client: aioredis.Redis) -> None:
        """Invalidations that failed while Redis was unreachable go first once it answers,
        so an entry cached before the outage cannot outlive a change made during it.
        Tombstones (`core.cache.cache_invalidate`) are written again with their full hold,
        so a load that read the old state before the change cannot store it afterwards."""
        async with self._sending_deletes:  # later calls wait: none reads before they land
            if not self._unsent_deletes:
                return
            unsent = dict(self._unsent_deletes)
            self._unsent_deletes.clear()
            try:
                async with client.pipeline(transaction=False) as pipe:
                    deletes = [stored for stored, item in unsent.items() if item is None]
                    if deletes:
                        pipe.delete(*deletes)
                    for stored, item in unsent.items():
                        if item is not None:
                            pipe.set(stored, item[0], px=milliseconds(item[1]))
                    await pipe.execute()
            except BaseException:
                for stored, item in unsent.items():
                    self._remember(stored, item)
                raise

    # -- the cache protocol --------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        value = await self._run(lambda r: r.execute("GET", self.key(key)))
        return cast("bytes | None", value)  # the pool does not decode responses

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._run(
                lambda r: r.execute("SET", self.key(key), value, "PX", milliseconds(ttl))
            )
        except CacheUnavailable:
            if is_tombstone(value):  # an invalidation: written once Redis answers
                self._remember(self.key(key), (value, ttl))
            raise

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        stored_keys = [self.key(k) for k in keys]
        try:
            await self._run(lambda r: r.execute("DEL", *stored_keys))
        except CacheUnavailable:
            self._remember_deletes(stored_keys)
            raise

    async def ping(self) -> None:
        await self._run(lambda r: r.execute("PING"))

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if self._local is not None and await self._local.get(key) is not None:
            return False  # recorded here while Redis was down: still taken
        try:
            stored = await self._run(
                lambda r: r.execute("SET", self.key(key), value, "PX", milliseconds(ttl), "NX")
            )
        except CacheUnavailable:
            return await self._fallback().add(key, value, ttl)
        return bool(stored)

    async def claim(self, keys: Sequence[str], ttl: float) -> list[bool]:
        if not keys:
            return []
        stored_keys = [self.key(key) for key in keys]
        taken = await self._run(lambda r: r.client.eval(
            CLAIM_SCRIPT, len(stored_keys), *stored_keys, milliseconds(ttl)))
        return [bool(flag) for flag in taken]

    async def incr(self, key: str, ttl: float) -> int:
        async def count(r: AutoPipeline) -> int:
            # One round trip, atomic: create the counter with its expiry, then count.
            async with r.client.pipeline(transaction=True) as pipe:
                pipe.set(self.key(key), 0, px=milliseconds(ttl), nx=True)
                pipe.incr(self.key(key))
                _, value = await pipe.execute()
            return int(value)

        try:
            return await self._run(count)
        except CacheUnavailable:
            return await self._fallback().incr(key, ttl)

    async def ttl(self, key: str) -> float | None:
        try:
            remaining = await self._run(lambda r: r.execute("PTTL", self.key(key)))
        except CacheUnavailable:
            return await self._fallback().ttl(key)
        if remaining == -2:
            return None
        return math.inf if remaining == -1 else remaining / 1000

    def _fallback(self) -> MemoryCache:
        """The per-process store for add/incr/ttl while Redis is down."""
        if self._local is None:
            raise CacheUnavailable("redis unavailable and the local fallback is off")
        return self._local
