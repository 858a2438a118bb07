"""`create_app(config)`: the only way an app is built."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial
from typing import Any

import anyio
import pluggy
from piccolo.conf.apps import AppConfig
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from core import db, health, openapi
from core.auth import ServiceAuthenticator, UserAuthenticator
from core.aws import AwsClients
from core.cache import Cache
from core.config import Config, structure
from core.context import AppContext
from core.errors import ConfigError
from core.health import ReadinessCheck
from core.middleware import BodyLimitMiddleware, OriginCheckMiddleware, RequestContextMiddleware
from core.plugins import call_in_order, flatten, make_plugin_manager, resolve
from core.problems import EXCEPTION_HANDLERS

log = logging.getLogger("itube.app")


def prepare(config: Config, plugins: Iterable[object] = ()) -> AppContext:
    """Load the plugins and validate their settings: everything start-up can refuse."""
    pm = make_plugin_manager(config.app.plugins, extra=plugins)
    ctx = AppContext(config=config, pm=pm)
    ctx.plugin_settings = structure_plugin_settings(config, pm)
    problems = flatten(pm.hook.config_problems(config=config, settings=ctx.plugin_settings))
    if problems:
        raise ConfigError("\n".join(f"{config.source}: {problem}" for problem in problems))
    return ctx


def structure_plugin_settings(config: Config, pm: pluggy.PluginManager) -> dict[str, Any]:
    classes: dict[str, type] = {}
    for declared in reversed(pm.hook.register_settings()):
        classes.update(declared or {})
    orphans = sorted(set(config.plugins) - set(classes))
    if orphans:
        raise ConfigError(
            f"{config.source}: [plugins.{orphans[0]}]: no loaded plugin reads these settings "
            f"(plugins with settings: {', '.join(sorted(classes)) or 'none'})"
        )
    return {
        name: structure(config.plugins.get(name, {}), cls, source=config.source,
                        prefix=f"plugins.{name}.", origins=config.env_overrides)
        for name, cls in classes.items()
    }


def create_app(config: Config, *, plugins: Iterable[object] = ()) -> Starlette:
    """Build an app from `config`; `plugins` are extra plugin objects (tests use them)."""
    ctx = prepare(config, plugins)
    routes = [*health.ROUTES, *openapi.ROUTES, *flatten(ctx.pm.hook.register_routes(ctx=ctx))]
    app = Starlette(
        routes=routes,
        middleware=_middleware(ctx),
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=partial(_lifespan, ctx),
    )
    app.state.ctx = ctx
    return app


def _middleware(ctx: AppContext) -> list[Middleware]:
    http = ctx.config.http
    stack = [Middleware(RequestContextMiddleware, access_log_enabled=ctx.config.logging.access_log)]
    if http.cors_origins:
        stack.append(Middleware(
            CORSMiddleware,
            allow_origins=http.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["content-type", "x-request-id"],
            expose_headers=["link", "x-request-id", "retry-after"],
        ))
    stack.append(Middleware(OriginCheckMiddleware, allowed_origins=http.cors_origins))
    stack.append(Middleware(BodyLimitMiddleware, max_body_bytes=http.max_body_bytes))
    return stack + flatten(ctx.pm.hook.register_middleware(ctx=ctx))


def piccolo_apps(pm: pluggy.PluginManager) -> list[AppConfig]:
    """The enabled plugins' Piccolo apps, in registration order."""
    return [app for app in reversed(pm.hook.register_piccolo_app()) if app is not None]


@asynccontextmanager
async def _lifespan(ctx: AppContext, app: Starlette) -> AsyncIterator[dict[str, Any]]:
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
            call_in_order, ctx.pm.hook.shutdown, reverse=True, keep_going=True, ctx=ctx
        )
        await call_in_order(ctx.pm.hook.startup, ctx=ctx)
        _collect_strategies(ctx)
        ctx.readiness += flatten(ctx.pm.hook.readiness_checks(ctx=ctx))
        log.info("started", extra={"plugins": [n for n, _ in ctx.pm.list_name_plugin()]})
        if ctx.config.server.freeze_heap_after_startup:
            _freeze_heap()
        yield {"ctx": ctx}


async def _start_database(ctx: AppContext, stack: AsyncExitStack) -> None:
    engine = db.make_engine(ctx.config.database)
    apps = piccolo_apps(ctx.pm)
    db.bind(engine, apps)
    await db.open_pool(engine, ctx.config.database)
    stack.push_async_callback(db.close_pool, engine)
    ctx.db = engine
    if ctx.config.database.migrate_on_start:
        await db.migrate_forwards(apps)
    ctx.readiness.append(ReadinessCheck("database", partial(db.ping, engine)))


async def _start_aws(ctx: AppContext) -> None:
    environment = await anyio.to_thread.run_sync(lambda: ctx.pm.hook.aws_environment(ctx=ctx))
    ctx.aws = AwsClients(ctx.config.aws, environment)


async def _start_cache(ctx: AppContext, stack: AsyncExitStack) -> None:
    cache = await resolve(ctx.pm.hook.cache_backend(ctx=ctx))
    if not isinstance(cache, Cache):
        raise ConfigError(f"cache backend {cache!r} does not satisfy core.cache.Cache")
    ctx.cache = cache
    stack.push_async_callback(cache.close)

    # The app keeps answering from the database without its cache: degraded, not down.
    ctx.readiness.append(ReadinessCheck(f"cache:{cache.name}", cache.ping, critical=False))


def _freeze_heap() -> None:
    """With many requests paused at once (awaiting Redis or the database), young objects
    survive collections and keep triggering full ones, and each full collection walked the
    whole start-up heap (~240k objects, ~90 ms): under 64 connections that was a third of
    the CPU. Frozen objects are never scanned (docs/decisions.md)."""
    gc.collect()
    gc.freeze()


def _collect_strategies(ctx: AppContext) -> None:
    for user_auth in reversed(ctx.pm.hook.user_authenticator(ctx=ctx)):
        _require(user_auth, UserAuthenticator)
        ctx.user_authenticators.append(user_auth)
    for service_auth in reversed(ctx.pm.hook.service_authenticator(ctx=ctx)):
        _require(service_auth, ServiceAuthenticator)
        ctx.service_authenticators.append(service_auth)


def _require(strategy: object, protocol: Any) -> None:
    if not isinstance(strategy, protocol):
        raise ConfigError(f"{strategy!r} does not satisfy core.auth.{protocol.__qualname__}")
