"""Security state (deny-lists, counters, replay caches) kept per process while the
shared store is down."""

from __future__ import annotations

from collections.abc import Sequence

from core.cache.calls import cache_delete
from core.cache.memory import MemoryCache
from core.cache.protocol import Cache, CacheUnavailable


class LocalFallback:
    """A `Cache` for security state (deny-lists, counters, replay caches) that raises
    `CacheUnavailable` only from `claim`: it uses `shared`, and while that is down answers
    from a per-process `MemoryCache`. What was recorded locally stays in force in this
    process after `shared` returns (`get` and `add` consult it), so a revocation made
    during an outage is kept.
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

    async def claim(self, keys: Sequence[str], ttl: float) -> list[bool]:
        """The shared store's answer only, raising as it does: a claim kept per process
        would be taken again by each."""
        return await self.shared_cache.claim(keys, ttl)

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
