"""Cache calls that treat a store that does not answer as a miss (or as "not stored"),
so a failing cache never fails a request."""

from __future__ import annotations

from core.cache.protocol import Cache, CacheUnavailable
from core.metrics import record_cache_lookup


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
