"""The Redis cache backend: shared by every API process, and harmless when Redis fails.
It also provides the app's event broker (Redis pub/sub), so live event streams on every
worker see every event.

Load it with `cache_redis` in `[app] plugins`; settings in `[plugins.cache_redis]`."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Gauge

from core.config import Config
from core.context import AppContext
from core.plugins import hookimpl
from plugins.cache_redis.backend import RedisCache
from plugins.cache_redis.broker import RedisBroker
from plugins.cache_redis.config import RedisCacheSettings, settings_problems

NAME = "cache_redis"


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: RedisCacheSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    return settings_problems(settings[NAME])


@hookimpl
def cache_backend(ctx: AppContext) -> RedisCache:
    # A plain function (firstresult): the pool is opened in `startup`, inside the loop.
    backend = RedisCache(ctx.settings(NAME))
    ctx.state[NAME] = backend
    return backend


@hookimpl
def event_broker(ctx: AppContext) -> RedisBroker:
    # A plain function (firstresult); the broker connects at its first publish or subscriber.
    return RedisBroker(ctx.settings(NAME))


@hookimpl
def register_metrics(ctx: AppContext, registry: CollectorRegistry) -> None:
    Gauge(
        "itube_cache_breaker_open",
        "1 while the Redis circuit breaker is open (Redis bypassed), else 0.",
        registry=registry,
    ).set_function(lambda: _breaker_open(ctx))


def _breaker_open(ctx: AppContext) -> float:
    backend: RedisCache | None = ctx.state.get(NAME)
    return float(backend is not None and backend.breaker.is_open)


@hookimpl
async def startup(ctx: AppContext) -> None:
    backend: RedisCache | None = ctx.state.get(NAME)
    if backend is not None:
        await backend.open()


@hookimpl
async def shutdown(ctx: AppContext) -> None:
    backend: RedisCache | None = ctx.state.pop(NAME, None)
    if backend is not None:
        await backend.close()
