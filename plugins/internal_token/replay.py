"""Refuses a signature seen before on an unsafe method while it could still be accepted.

Entries live in the app's cache (`add` = set-if-absent), shared by every process when the
cache is Redis. While the cache does not answer, a per-process memory keeps refusing
replays to this process.
"""

from __future__ import annotations

import logging

from core.auth import AuthenticationFailed
from core.cache import Cache, CacheUnavailable, MemoryCache

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
log = logging.getLogger("itube.internal_token")


class ReplayGuard:
    def __init__(self, cache: Cache, *, namespace: str) -> None:
        self.cache = cache
        self.namespace = namespace
        self.fallback = MemoryCache(max_entries=100_000)

    async def check(self, method: str, signature: str, ttl: float) -> None:
        if method.upper() not in UNSAFE_METHODS:
            return
        key = f"{self.namespace}:replay:{signature}"
        ttl = max(ttl, 1.0)
        try:
            first = await self.cache.add(key, b"1", ttl)
        except CacheUnavailable:
            log.warning("cache unavailable: replay protection is per process")
            first = True
        # Remembered locally too, so a replay during a cache outage is still caught here.
        first = await self.fallback.add(key, b"1", ttl) and first
        if not first:
            raise AuthenticationFailed("replayed request")
