"""The cache protocol, the in-process default and the helpers every caller uses.

Values are bytes (callers serialise with orjson). A backend that cannot reach its store
raises `CacheUnavailable`; `get_or_load` turns that into a cache miss, so a failing cache
never fails a request.
"""

from core.cache.calls import cache_add, cache_delete, cache_get, cache_set
from core.cache.fallback import LocalFallback
from core.cache.loading import (
    INVALIDATION_HOLD_SECONDS,
    TOMBSTONE,
    SingleFlight,
    cache_invalidate,
    get_or_load,
    is_tombstone,
)
from core.cache.memory import MemoryCache
from core.cache.protocol import Cache, CacheUnavailable

__all__ = [
    "INVALIDATION_HOLD_SECONDS",
    "TOMBSTONE",
    "Cache",
    "CacheUnavailable",
    "LocalFallback",
    "MemoryCache",
    "SingleFlight",
    "cache_add",
    "cache_delete",
    "cache_get",
    "cache_invalidate",
    "cache_set",
    "get_or_load",
    "is_tombstone",
]
