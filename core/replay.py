"""Replay protection for signed service requests, shared by every service-auth strategy.

A signature seen before on an unsafe method is refused for as long as it could still be
accepted. Entries live in the app's cache (`add` = set-if-absent), so with a shared cache
(Redis) every process of the deployment sees them. Each one is also remembered in this
process, so while the cache does not answer replays to this process are still refused:
degraded, never open.
"""

from __future__ import annotations

from core.auth import AuthenticationFailed
from core.cache import Cache, LocalFallback, MemoryCache
from core.middleware import UNSAFE_METHODS


class ReplayGuard:
    def __init__(self, cache: Cache, *, namespace: str, max_entries: int = 100_000) -> None:
        self.store = LocalFallback(cache, MemoryCache(max_entries=max_entries))
        self.namespace = namespace

    async def check(self, method: str, signature: str, ttl: float) -> None:
        """Remember `signature` for `ttl` seconds; 401 when it was already used."""
        if method.upper() not in UNSAFE_METHODS:
            return
        key = f"{self.namespace}:replay:{signature}"
        ttl = max(ttl, 1.0)
        first = await self.store.add(key, b"1", ttl)
        # Also remember it here, so a replay during a later outage is still caught.
        await self.store.local.add(key, b"1", ttl)
        if not first:
            raise AuthenticationFailed("replayed request")
