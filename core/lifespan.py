"""An app's lifespan: the database, AWS and the cache started, the plugins' startup and
shutdown called, the events dispatcher run, readiness checks gathered."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import anyio
import pluggy
from piccolo.conf.apps import AppConfig
from starlette.applications import Starlette

from core import db, health, openapi
from core.auth import ServiceAuthenticator, UserAuthenticator
from core.aws import AwsClients
from core.cache import Cache, MemoryCache
from core.context import AppContext
from core.errors import ConfigError
from core.events.lifecycle import start_events
from core.health import ReadinessCheck
from core.plugins import KERNEL_PLUGINS, call_in_order, flatten, plugins_in_order, resolve

log = logging.getLogger("itube.app")
# Net allocations of tracked objects between young collections once the heap is frozen:
# above what the requests in flight hold, so a steady load seldom triggers one.
YOUNG_COLLECTION_THRESHOLD = 50_000


def piccolo_apps(pm: pluggy.PluginManager) -> list[AppConfig]:
    """The enabled plugins' Piccolo apps, in registration order."""
    return list(pm.hook.register_piccolo_app())


@asynccontextmanager
async def lifespan(ctx: AppContext, app: Starlette) -> AsyncIterator[dict[str, Any]]:
    # Whatever a previous run of this app collected is dropped: an app can start twice.
    ctx.readiness.clear()
    ctx.user_authenticators.clear()
    ctx.service_authenticators.clear()
    ctx.state.pop(openapi.DOCUMENT_KEY, None)
    async with AsyncExitStack() as stack:
        await _start_database(ctx, stack)
        await _start_aws(ctx)
        await _start_cache(ctx, stack)
        stack.push_async_callback(
            call_in_order, ctx.pm, "shutdown", reverse=True, keep_going=True, ctx=ctx
        )
        await call_in_order(ctx.pm, "startup", ctx=ctx)
        _collect_strategies(ctx)
        await start_events(ctx, stack)
        ctx.readiness += flatten(ctx.pm.hook.readiness_checks(ctx=ctx))
        if ctx.aws is not None and ctx.aws.endpoints():
            # The plugins use AWS: whether it answers degrades, never fails, readiness (the
            # routes that need it answer 503, the others serve), looked at now and then.
            ctx.readiness.append(ReadinessCheck(
                "aws", ctx.aws.check_reachable, critical=False,
                remember_seconds=ctx.config.aws.readiness_cache_seconds,
            ))
        stack.callback(health.stop_checks, ctx.readiness)
        log.info("started", extra={"plugins": [n for n, _ in plugins_in_order(ctx.pm)]})
        if ctx.config.server.freeze_heap_after_startup:
            _freeze_heap()
        yield {"ctx": ctx}


async def _start_database(ctx: AppContext, stack: AsyncExitStack) -> None:
    # Piccolo's engine asks the server for its version as it is made: off the event loop.
    engine = await anyio.to_thread.run_sync(db.make_engine, ctx.config.database)
    apps = piccolo_apps(ctx.pm)
    db.bind(engine, apps)
    await db.open_pool(engine, ctx.config.database)
    stack.push_async_callback(db.close_pool, engine)
    ctx.metrics.pool_usage = partial(db.pool_usage, engine)
    ctx.db = engine
    if ctx.config.database.migrate_on_start:
        async with db.migration_lock(ctx.config.database):
            await db.migrate_forwards(apps)
    ctx.readiness.append(ReadinessCheck("database", db.DatabaseReadiness(engine, apps)))


async def _start_aws(ctx: AppContext) -> None:
    environment = await anyio.to_thread.run_sync(lambda: ctx.pm.hook.aws_environment(ctx=ctx))
    ctx.aws = AwsClients(ctx.config.aws, environment)


async def _start_cache(ctx: AppContext, stack: AsyncExitStack) -> None:
    cache = await resolve(ctx.pm.hook.cache_backend(ctx=ctx))
    if not isinstance(cache, Cache):
        raise ConfigError(f"cache backend {cache!r} does not satisfy core.cache.Cache")
    workers = ctx.config.server.workers
    if isinstance(cache, MemoryCache) and workers > 1:
        problem = _process_cache_message(workers)
        if ctx.config.is_production:
            raise ConfigError(f"{ctx.config.source}: {problem}")
        log.warning(problem)
    ctx.cache = cache
    stack.push_async_callback(cache.close)

    # The app keeps answering from the database without its cache: degraded, not down.
    ctx.readiness.append(ReadinessCheck(f"cache:{cache.name}", cache.ping, critical=False))


def process_cache_problem(pm: pluggy.PluginManager, workers: int) -> str | None:
    """Why `workers` processes cannot share the cache the loaded plugins give (only the
    kernel's in-process one answers `cache_backend`), or None. Known before anything
    starts; `_start_cache` checks the cache actually made."""
    kernel_only = all(impl.plugin_name in KERNEL_PLUGINS
                      for impl in pm.hook.cache_backend.get_hookimpls())
    return _process_cache_message(workers) if workers > 1 and kernel_only else None


def _process_cache_message(workers: int) -> str:
    return (f"server.workers: {workers} workers would each keep their own in-process cache, "
            "and serve entries another worker has invalidated; load a shared cache plugin "
            "(cache_redis) or run one worker")


def _freeze_heap() -> None:
    """With many requests paused at once (awaiting Redis or the database), young objects
    survive collections and keep triggering full ones, and each full collection walked the
    whole start-up heap (~240k objects, ~90 ms): under 64 connections that was a third of
    the CPU. Frozen objects are never scanned (docs/decisions.md).

    The young generation is collected less often too: the requests in flight alone (64
    of them hold ~5,000 coroutines, closures and futures) outgrow Python's 700, so a young
    collection came every ~50 requests and walked them all: ~25 µs of an uncached read."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


def _collect_strategies(ctx: AppContext) -> None:
    for user_auth in ctx.pm.hook.user_authenticator(ctx=ctx):
        _require(user_auth, UserAuthenticator)
        ctx.user_authenticators.append(user_auth)
    for service_auth in ctx.pm.hook.service_authenticator(ctx=ctx):
        _require(service_auth, ServiceAuthenticator)
        ctx.service_authenticators.append(service_auth)


def _require(strategy: object, protocol: Any) -> None:
    if not isinstance(strategy, protocol):
        raise ConfigError(f"{strategy!r} does not satisfy core.auth.{protocol.__qualname__}")
