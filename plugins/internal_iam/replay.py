"""Refuses a signature seen before on an unsafe method, for as long as it could be accepted.

Entries live in the app's cache (`add` = set-if-absent), so with a shared cache (Redis)
every process of the deployment sees them. When the cache does not answer, a
per-process memory keeps refusing replays to this process: degraded, never open.
"""

from __future__ import annotations

import logging

from core.auth import AuthenticationFailed
from core.cache import Cache, CacheUnavailable, MemoryCache

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = logging.getLogger("itube.internal_iam")


class ReplayGuard:
    def __init__(self, cache: Cache, *, namespace: str, max_entries: int = 100_000) -> None:
        self.cache = cache
        self.namespace = namespace
        self.fallback = MemoryCache(max_entries=max_entries)
        self._degraded = False

    async def check(self, method: str, signature: str, ttl: float) -> None:
        """Remember `signature` for `ttl` seconds; 401 when it was already used."""
        if method.upper() not in UNSAFE_METHODS:
            return
        key = f"{self.namespace}:replay:{signature}"
        ttl = max(ttl, 1.0)
        if not await self._add(key, ttl):
            raise AuthenticationFailed("replayed request")

    async def _add(self, key: str, ttl: float) -> bool:
        try:
            first = await self.cache.add(key, b"1", ttl)
        except CacheUnavailable:
            if not self._degraded:
                log.warning("cache unavailable: replay protection is per process until it answers")
                self._degraded = True
            return await self.fallback.add(key, b"1", ttl)
        if self._degraded:
            log.info("cache answers again: replay protection shared again")
            self._degraded = False
        # Also remember locally, so a replay during a later outage is still caught here.
        await self.fallback.add(key, b"1", ttl)
        return first
