"""`create_app(config)`: the only way an app is built."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

from core.config import Config
from core.context import AppContext
from core.lifespan import lifespan, piccolo_apps, process_cache_problem
from core.middleware import RequestContextMiddleware, RequestGuardMiddleware
from core.plugin_settings import inspect_plugins, prepare
from core.plugins import flatten
from core.problems import EXCEPTION_HANDLERS
from core.route_conflicts import collect_routes, route_conflicts
from core.router import IndexedRouter

__all__ = [
    "collect_routes",
    "create_app",
    "inspect_plugins",
    "piccolo_apps",
    "prepare",
    "process_cache_problem",
    "route_conflicts",
]


class KernelApp(Starlette):
    """Starlette with the kernel's middleware as its outermost layers: Starlette's own two
    (`ServerErrorMiddleware`, `ExceptionMiddleware`) are left out, because
    `RequestContextMiddleware` does their work (a problem 500 for an uncaught exception,
    the exception handlers for the rest) and a layer costs every request a frame."""

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app


def create_app(config: Config, *, plugins: Iterable[object] = ()) -> Starlette:
    """Build an app from `config`; `plugins` are extra plugin objects (tests use them)."""
    ctx = prepare(config, plugins)
    ctx.pm.hook.register_metrics(ctx=ctx, registry=ctx.metrics.registry)
    app = KernelApp(middleware=_middleware(ctx))
    app.router = IndexedRouter(collect_routes(ctx), lifespan=partial(lifespan, ctx))
    app.state.ctx = ctx
    return app


def _middleware(ctx: AppContext) -> list[Middleware]:
    http = ctx.config.http
    stack = [Middleware(RequestContextMiddleware, access_log_enabled=ctx.config.logging.access_log,
                        metrics=ctx.metrics, exception_handlers=EXCEPTION_HANDLERS)]
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
