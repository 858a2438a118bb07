"""`create_app(config)`: the only way an app is built."""

from __future__ import annotations

import gc
import logging
import re
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
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from core import db, health, openapi
from core.auth import ServiceAuthenticator, UserAuthenticator
from core.aws import AwsClients
from core.cache import Cache, MemoryCache
from core.config import Config, Problems, secret_texts_of, structure
from core.context import AppContext
from core.errors import ConfigError
from core.health import ReadinessCheck
from core.metrics_endpoint import metrics_routes
from core.middleware import RequestContextMiddleware, RequestGuardMiddleware
from core.plugins import (
    KERNEL_PLUGINS,
    call_in_order,
    callers_in_order,
    flatten,
    make_plugin_manager,
    plugin_label,
    plugins_in_order,
    resolve,
)
from core.problems import EXCEPTION_HANDLERS

log = logging.getLogger("itube.app")
KERNEL = "the kernel"
_PARAMETER = re.compile(r"\{[^}:]*(:[^}]*)?\}")


def prepare(config: Config, plugins: Iterable[object] = ()) -> AppContext:
    """Load the plugins and validate their settings: everything start-up can refuse."""
    ctx, problems = inspect_plugins(config, plugins)
    if problems:
        raise ConfigError("\n".join(problems))
    return ctx


def inspect_plugins(
    config: Config, plugins: Iterable[object] = (), problems: Problems | None = None
) -> tuple[AppContext, list[str]]:
    """`prepare` collecting every problem instead of raising: each plugin's settings, then
    each plugin's `config_problems` (skipped for a plugin whose settings could not be
    read). Added to `problems` (those of the config itself) when given."""
    problems = Problems(config.source) if problems is None else problems
    pm = make_plugin_manager(config.app.plugins, extra=plugins)
    ctx = AppContext(config=config, pm=pm)
    ctx.plugin_settings, unreadable = _structure_settings(config, pm, problems)
    secrets = secret_texts_of(config, *ctx.plugin_settings.values())
    for plugin, config_problems in callers_in_order(pm, "config_problems"):
        if plugin not in unreadable:
            found = config_problems(config=config, settings=ctx.plugin_settings)
            problems.extend(flatten(found), secrets)
    return ctx, problems.all()


def _structure_settings(
    config: Config, pm: pluggy.PluginManager, problems: Problems
) -> tuple[dict[str, Any], set[object]]:
    """The settings that could be read, and the plugins whose settings could not."""
    classes: dict[str, tuple[type, object]] = {}
    for plugin, register_settings in callers_in_order(pm, "register_settings"):
        for declared in register_settings():
            for name, cls in declared.items():
                if name in classes:
                    raise ConfigError(f"app.plugins: {plugin_label(pm, classes[name][1])} and "
                                      f"{plugin_label(pm, plugin)} both read "
                                      f"[plugins.{name}]: load only one of them")
                classes[name] = (cls, plugin)
    problems.add_lines(
        f"{config.source}: [plugins.{orphan}]: no loaded plugin reads these settings "
        f"(plugins with settings: {', '.join(sorted(classes)) or 'none'})"
        for orphan in sorted(set(config.plugins) - set(classes))
    )
    settings: dict[str, Any] = {}
    unreadable: set[object] = set()
    for name, (cls, plugin) in classes.items():
        try:
            settings[name] = structure(config.plugins.get(name, {}), cls, source=config.source,
                                       prefix=f"plugins.{name}.", origins=config.env_overrides)
        except ConfigError as exc:
            problems.add_lines(str(exc).splitlines())
            unreadable.add(plugin)
    return settings, unreadable


def create_app(config: Config, *, plugins: Iterable[object] = ()) -> Starlette:
    """Build an app from `config`; `plugins` are extra plugin objects (tests use them)."""
    ctx = prepare(config, plugins)
    ctx.pm.hook.register_metrics(ctx=ctx, registry=ctx.metrics.registry)
    app = Starlette(
        routes=collect_routes(ctx),
        middleware=_middleware(ctx),
        exception_handlers=dict(EXCEPTION_HANDLERS),
        lifespan=partial(_lifespan, ctx),
    )
    app.state.ctx = ctx
    return app


def collect_routes(ctx: AppContext) -> list[BaseRoute]:
    """The kernel's routes, then each plugin's in config order. Two that answer the same
    method and path stop start-up: whichever came first would silently win."""
    contributed: list[tuple[str, list[BaseRoute]]] = [
        (KERNEL, [*health.ROUTES, *openapi.ROUTES, *metrics_routes(ctx.config.metrics)])
    ]
    # Plugin by plugin, to know whose routes are whose; in config order, which decides
    # what matches first.
    for plugin, register_routes in callers_in_order(ctx.pm, "register_routes"):
        contributed.append((plugin_label(ctx.pm, plugin), flatten(register_routes(ctx=ctx))))
    conflicts = route_conflicts(contributed)
    if conflicts:
        raise ConfigError("\n".join(f"{ctx.config.source}: {line}" for line in conflicts))
    return [route for _, routes in contributed for route in routes]


def route_conflicts(contributed: list[tuple[str, list[BaseRoute]]]) -> list[str]:
    """One line per pair of contributors (the kernel, plugins) claiming the same method
    and path, naming both and the routes."""
    owners: dict[str, dict[str, str]] = {}  # path -> method -> who declared it first
    clashes: dict[tuple[str, str], list[str]] = {}
    for owner, routes in contributed:
        for method, path in (claim for route in routes for claim in _claims(route)):
            taken = owners.setdefault(path, {})
            first = taken.get(method) or taken.get("*") or (
                next(iter(taken.values()), None) if method == "*" else None
            )
            if first is not None:
                clashes.setdefault((first, owner), []).append(f"{method} {path}")
            taken.setdefault(method, owner)
    return [_describe_clash(first, second, claims) for (first, second), claims in clashes.items()]


def _describe_clash(first: str, second: str, claims: list[str]) -> str:
    shown = ", ".join(claims[:4]) + (f" and {len(claims) - 4} more" if len(claims) > 4 else "")
    if first == second:
        return f"app.plugins: {first} declares {shown} twice"
    return f"app.plugins: {first} and {second} both declare {shown}: load only one of them"


def _claims(route: BaseRoute, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) pairs a route answers; `*` for any method, parameters made anonymous
    (`/videos/{id}` and `/videos/{video_id}` are the same route)."""
    if isinstance(route, Mount):
        path = prefix + route.path
        if route.routes:
            return [claim for sub in route.routes for claim in _claims(sub, path)]
        return [("*", _PARAMETER.sub(_anonymous, path) + "/{}")]
    if isinstance(route, Route):
        path = _PARAMETER.sub(_anonymous, prefix + route.path)
        methods = route.methods or {"*"}
        if "GET" in methods:
            methods = methods - {"HEAD"}  # Starlette adds it to every GET
        return [(method, path) for method in sorted(methods)]
    if isinstance(route, WebSocketRoute):
        return [("WEBSOCKET", _PARAMETER.sub(_anonymous, prefix + route.path))]
    return []


def _anonymous(parameter: re.Match[str]) -> str:
    return "{" + (parameter.group(1) or "") + "}"


def _middleware(ctx: AppContext) -> list[Middleware]:
    http = ctx.config.http
    stack = [Middleware(RequestContextMiddleware, access_log_enabled=ctx.config.logging.access_log,
                        metrics=ctx.metrics)]
    if http.cors_origins:
        stack.append(Middleware(
            CORSMiddleware,
            allow_origins=http.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
            allow_headers=["content-type", "x-request-id"],
            expose_headers=["link", "x-request-id", "retry-after"],
        ))
    stack.append(Middleware(RequestGuardMiddleware, max_body_bytes=http.max_body_bytes,
                            allowed_origins=http.cors_origins))
    return stack + flatten(ctx.pm.hook.register_middleware(ctx=ctx))


def piccolo_apps(pm: pluggy.PluginManager) -> list[AppConfig]:
    """The enabled plugins' Piccolo apps, in registration order."""
    return list(pm.hook.register_piccolo_app())


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
            call_in_order, ctx.pm, "shutdown", reverse=True, keep_going=True, ctx=ctx
        )
        await call_in_order(ctx.pm, "startup", ctx=ctx)
        _collect_strategies(ctx)
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
    the CPU. Frozen objects are never scanned (docs/decisions.md)."""
    gc.collect()
    gc.freeze()


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
