"""The cache protocol, the in-process default and the helpers every caller uses.

Values are bytes (callers serialise with orjson). A backend that cannot reach its store
raises `CacheUnavailable`; `get_or_load` turns that into a cache miss, so a failing cache
never fails a request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

from core.metrics import record_cache_lookup

T = TypeVar("T")
log = logging.getLogger("itube.cache")

# What `cache_invalidate` writes in place of an entry: this prefix and a token unique to the
# invalidation. Cached values are JSON, which never starts with a NUL byte.
TOMBSTONE = b"\x00itube:invalidated:"
# How long an invalidated key refuses new entries: longer than any load (a database read)
# takes, so a load that read the old state before the change cannot store it afterwards.
# The price: reads of that key go to the source for this long after each change.
INVALIDATION_HOLD_SECONDS = 5.0


class CacheUnavailable(Exception):
    """The cache's store did not answer; callers fall back to the source of truth."""


@runtime_checkable
class Cache(Protocol):
    """What the kernel needs of a cache backend. TTLs are seconds.

    Every method may raise `CacheUnavailable` when the backend's store does not answer.
    What each use falls back to while the shared store (Redis) is down:

    - cached data (`get`/`add`/`set`/`delete`, through `cache_get`, `cache_set`,
      `cache_delete`, `cache_invalidate`, `get_or_load`): a miss; requests are answered
      from the database. Nothing is cached per process meanwhile, so no process can serve
      an entry another one invalidated.
    - rate-limit counters (`incr` + `ttl`) and the SigV4 replay cache (`add`): the Redis
      backend answers them from a per-process store instead of raising, so limits count
      per process and a replay is refused by the process that saw the first request.
      Other backends may raise: callers keep a per-process fallback of their own.
    - the token deny-list (`set` on logout, `get` per request): wrap the cache in
      `LocalFallback`; a revocation made while the store is down is kept by the process
      that handled it (and stays in force there once the store is back), other processes
      accept the token until it expires. Refusing every token instead would sign every
      user out for the length of the outage.
    """

    name: str
    # True when every process of the deployment sees the same entries (Redis), False for a
    # per-process store. Deny-lists and replay caches warn when it is False in production.
    shared: bool

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Set only if absent; True when this call set it (replay caches, locks)."""
        ...

    async def delete(self, *keys: str) -> None: ...

    async def incr(self, key: str, ttl: float) -> int:
        """Add one to a counter that expires `ttl` seconds after its first increment."""
        ...

    async def ttl(self, key: str) -> float | None:
        """Seconds until the key expires, None when absent."""
        ...

    async def ping(self) -> None:
        """Raise CacheUnavailable when the store does not answer."""
        ...

    async def close(self) -> None: ...


class MemoryCache:
    """A size-bounded, TTL-aware, per-process cache (least recently used evicted first)."""

    name = "memory"
    shared = False

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def _live(self, key: str) -> tuple[float, bytes] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, value: bytes, ttl: float) -> None:
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return entry[1] if entry else None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._store(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if self._live(key):
            return False
        self._store(key, value, ttl)
        return True

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def incr(self, key: str, ttl: float) -> int:
        entry = self._live(key)
        if entry is None:
            self._store(key, b"1", ttl)
            return 1
        count = int(entry[1]) + 1
        self._entries[key] = (entry[0], str(count).encode())
        return count

    async def ttl(self, key: str) -> float | None:
        entry = self._live(key)
        return None if entry is None else entry[0] - self._clock()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()


class LocalFallback:
    """A `Cache` for security state (deny-lists, counters, replay caches) that never raises
    `CacheUnavailable`: it uses `shared`, and while that is down answers from a per-process
    `MemoryCache`. What was recorded locally stays in force in this process after `shared`
    returns (`get` and `add` consult it), so a revocation made during an outage is kept.
    When both hold a value for a key, `get` answers the shared one. Not for cached data:
    a per-process copy could outlive another process's invalidation. Closing it closes
    the local store only; the app closes `shared`."""

    def __init__(self, shared: Cache, local: MemoryCache | None = None):
        self.shared_cache = shared
        self.local = local if local is not None else MemoryCache()
        self.name = f"{shared.name}+local"
        self.shared = shared.shared

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self.shared_cache.get(key)
        except CacheUnavailable:
            value = None
        return value if value is not None else await self.local.get(key)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self.shared_cache.set(key, value, ttl)
        except CacheUnavailable:
            await self.local.set(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if await self.local.get(key) is not None:
            return False
        try:
            return await self.shared_cache.add(key, value, ttl)
        except CacheUnavailable:
            return await self.local.add(key, value, ttl)

    async def delete(self, *keys: str) -> None:
        await self.local.delete(*keys)
        await cache_delete(self.shared_cache, *keys)

    async def incr(self, key: str, ttl: float) -> int:
        try:
            return await self.shared_cache.incr(key, ttl)
        except CacheUnavailable:
            return await self.local.incr(key, ttl)

    async def ttl(self, key: str) -> float | None:
        try:
            remaining = await self.shared_cache.ttl(key)
        except CacheUnavailable:
            remaining = None
        return remaining if remaining is not None else await self.local.ttl(key)

    async def ping(self) -> None:
        await self.shared_cache.ping()

    async def close(self) -> None:
        await self.local.close()


class SingleFlight:
    """Concurrent loads of one key share a single call (one database query per stampede)."""

    def __init__(self) -> None:
        self._inflight: dict[str, asyncio.Future[object]] = {}

    async def run(self, key: str, load: Callable[[], Awaitable[T]]) -> T:
        pending = self._inflight.get(key)
        if pending is not None:
            try:
                return await asyncio.shield(pending)  # type: ignore[arg-type]
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if pending.cancelled() and task is not None and not task.cancelling():
                    # The leading call was cancelled (its client left), not this one.
                    return await self.run(key, load)
                raise
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]


async def cache_get(cache: Cache, key: str) -> bytes | None:
    """`cache.get` that treats an unavailable cache as a miss."""
    try:
        value = await cache.get(key)
    except CacheUnavailable:
        record_cache_lookup("error")
        return None
    record_cache_lookup("miss" if value is None else "hit")
    return value


async def cache_set(cache: Cache, key: str, value: bytes, ttl: float) -> None:
    try:
        await cache.set(key, value, ttl)
    except CacheUnavailable:
        return None


async def cache_delete(cache: Cache, *keys: str) -> None:
    try:
        await cache.delete(*keys)
    except CacheUnavailable:
        return None


async def cache_add(cache: Cache, key: str, value: bytes, ttl: float) -> bool:
    """`cache.add` that treats an unavailable cache as "not stored"."""
    try:
        return await cache.add(key, value, ttl)
    except CacheUnavailable:
        return False


def is_tombstone(value: bytes | None) -> bool:
    """Is this what `cache_invalidate` left in place of an entry?"""
    return value is not None and value.startswith(TOMBSTONE)


async def cache_invalidate(
    cache: Cache, *keys: str, hold: float = INVALIDATION_HOLD_SECONDS
) -> None:
    """Drop `keys` after a change, so that no load that read the old state can put it back.

    Each key gets a tombstone for `hold` seconds instead of a plain delete: `get_or_load`
    reads it as a miss and stores with `add` (set-if-absent), which the tombstone refuses.
    `hold` must exceed the longest load; reads of the keys bypass the cache that long.
    When the store does not answer, a key is deleted instead (`cache_delete`), so a
    backend that keeps failed deletes for later sends them once its store is back (the
    Redis backend keeps the failed tombstone itself and writes it then).
    """
    for key in keys:
        tombstone = TOMBSTONE + os.urandom(8).hex().encode()
        try:
            await cache.set(key, tombstone, hold)
        except CacheUnavailable:
            await cache_delete(cache, key)


async def get_or_load(
    cache: Cache,
    flight: SingleFlight,
    key: str,
    load: Callable[[], Awaitable[bytes | None]],
    ttl: float,
) -> bytes | None:
    """Serve `key` from the cache; on a miss run `load` once per process and store it.

    The value is stored only if the key is still absent (`add`): after `cache_invalidate`
    the tombstone refuses a load that started before the change, and reads made after it
    share a load of their own (the tombstone's token is part of the single-flight key), so
    they never wait for one that read the old state."""
    try:
        cached = await cache.get(key)
    except CacheUnavailable:
        record_cache_lookup("error")
        # Nothing is stored while the store fails: each process reads the source.
        return await flight.run(key, load)
    if cached is not None and not is_tombstone(cached):
        record_cache_lookup("hit")
        return cached
    record_cache_lookup("miss")

    async def load_and_store() -> bytes | None:
        value = await load()
        if value is not None:
            await cache_add(cache, key, value, ttl)
        return value

    flight_key = key if cached is None else f"{key}\x00{cached.hex()}"
    return await flight.run(flight_key, load_and_store)
