"""Reading through the cache: one load per key and process at a time, and invalidation
that no load begun before a change can undo."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from core.cache.calls import cache_add, cache_delete
from core.cache.protocol import Cache, CacheUnavailable
from core.metrics import record_cache_lookup

T = TypeVar("T")

# What `cache_invalidate` writes in place of an entry: this prefix and a token unique to the
# invalidation. Cached values are JSON, which never starts with a NUL byte.
TOMBSTONE = b"\x00itube:invalidated:"
# How long an invalidated key refuses new entries: longer than any load (a database read)
# takes, so a load that read the old state before the change cannot store it afterwards.
# The price: reads of that key go to the source for this long after each change.
INVALIDATION_HOLD_SECONDS = 5.0


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
