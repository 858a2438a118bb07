"""The kernel's fallbacks, registered like any plugin and overridden by any that answers,
and the kernel's own Piccolo app (the event outbox)."""

from __future__ import annotations

from piccolo.conf.apps import AppConfig

from core.cache import MemoryCache
from core.context import AppContext
from core.events.broker import MemoryBroker
from core.plugins import hookimpl


@hookimpl(trylast=True)
def cache_backend(ctx: AppContext) -> MemoryCache:
    return MemoryCache()


@hookimpl(trylast=True)
def event_broker(ctx: AppContext) -> MemoryBroker:
    return MemoryBroker()


@hookimpl
def register_piccolo_app() -> AppConfig:
    from core.events.piccolo_app import APP_CONFIG

    return APP_CONFIG
