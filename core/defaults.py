"""The kernel's fallbacks, registered like any plugin and overridden by any that answers."""

from __future__ import annotations

from core.cache import MemoryCache
from core.context import AppContext
from core.plugins import hookimpl


@hookimpl(trylast=True)
def cache_backend(ctx: AppContext) -> MemoryCache:
    return MemoryCache()
