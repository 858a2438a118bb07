"""Every hook the kernel calls. Plugins implement them with `core.hookimpl`.

Every hook asks the plugins in config order (`tryfirst` and `trylast` aside): a hook
returning values returns them in that order, and the first plugin answering a
`firstresult` hook wins. pluggy calls hooks synchronously. Where a hook may do I/O its
implementation may return an awaitable, which the kernel resolves
(`core.plugins.resolve`). A `firstresult` implementation must never be `async def`: a
coroutine is truthy and would always win.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from piccolo.conf.apps import AppConfig
    from prometheus_client import CollectorRegistry
    from starlette.middleware import Middleware
    from starlette.routing import BaseRoute

    from core.auth import ServiceAuthenticator, UserAuthenticator
    from core.aws import AwsEnvironment
    from core.cache import Cache
    from core.config import Config
    from core.context import AppContext
    from core.events import EventBroker, EventSink
    from core.health import ReadinessCheck

hookspec = pluggy.HookspecMarker("itube")


@hookspec(historic=True)
def register_hookspecs(pm: pluggy.PluginManager) -> None:
    """Called once per plugin as it registers: add the plugin's own hookspecs with
    `pm.add_hookspecs(module)` so other plugins can implement its events."""


@hookspec
def register_settings() -> dict[str, type] | None:
    """Return `{section_name: attrs_class}`: the `[plugins.<section_name>]` table is
    structured into that class at start-up and read back with `ctx.settings(name)`."""


@hookspec
def config_problems(config: Config, settings: dict[str, Any]) -> list[str] | None:
    """Return messages for settings that are valid alone but unsafe together, e.g. a
    development-only value in a production config. Any message stops start-up."""


@hookspec
def register_routes(ctx: AppContext) -> list[BaseRoute] | None:
    """Return Starlette routes (use `core.routing.api_route` so they document themselves)."""


@hookspec
def register_middleware(ctx: AppContext) -> list[Middleware] | None:
    """Return Starlette `Middleware` entries, wrapped inside the kernel's own middleware."""


@hookspec
def register_piccolo_app() -> AppConfig | None:
    """Return the plugin's Piccolo `AppConfig` (tables and migrations folder)."""


@hookspec
def register_commands(subparsers: Any) -> None:
    """Add `itube` CLI sub-commands to the argparse `subparsers`. Set `func=callable(args)`
    on each parser; it receives the parsed args (with `args.config`)."""


@hookspec(firstresult=True)
def aws_environment(ctx: AppContext) -> AwsEnvironment | None:
    """Return where AWS lives and what was provisioned there (endpoint, credentials,
    resource names). Called once at start-up in a worker thread, before `startup`."""


@hookspec(firstresult=True)
def cache_backend(ctx: AppContext) -> Cache | None:
    """Return the app's cache (an object satisfying `core.cache.Cache`). The first plugin
    that answers wins; the kernel's in-process cache is the `trylast` default."""


@hookspec
def startup(ctx: AppContext) -> Awaitable[None] | None:
    """Called in the lifespan after the database, AWS clients and the cache are ready,
    plugin by plugin in config order, each awaited before the next: open pools and
    clients, keep them in `ctx.state[<plugin>]`."""


@hookspec
def shutdown(ctx: AppContext) -> Awaitable[None] | None:
    """Called in the lifespan at shut-down, plugin by plugin in the reverse of config
    order, each awaited before the next: close what `startup` opened. One that fails is
    logged and the others still run."""


@hookspec
def user_authenticator(ctx: AppContext) -> UserAuthenticator | None:
    """Return an object satisfying `core.auth.UserAuthenticator`; called after `startup`.
    Per request the authenticators are asked in order; the first actor wins."""


@hookspec
def service_authenticator(ctx: AppContext) -> ServiceAuthenticator | None:
    """Return an object satisfying `core.auth.ServiceAuthenticator`; called after
    `startup`. Per request the first principal wins."""


@hookspec
def readiness_checks(ctx: AppContext) -> list[ReadinessCheck] | None:
    """Return checks for `/readyz`; each is a name and an async callable that raises when
    the dependency is not ready (`core.errors.NotReady` for a message meant to be read;
    `remember_seconds` reuses the last outcome that long)."""


@hookspec
def register_metrics(ctx: AppContext, registry: CollectorRegistry) -> None:
    """Called once as the app is built: create the plugin's own metric families with
    `registry=registry` (never the library's global registry), and keep them in
    `ctx.state[<plugin>]`. A gauge may read live state with `set_function`."""


@hookspec
def event_sinks(ctx: AppContext) -> list[EventSink] | None:
    """Return sinks (objects satisfying `core.events.EventSink`) the dispatcher hands every
    event to, at least once and in id order; called after `startup`. Each sink's `name`
    names its delivery offset in the database: keep it stable."""


@hookspec
def event_schemas() -> dict[str, dict[str, Any]] | None:
    """Return the JSON Schema of the `data` of each event type the plugin records, by type
    (`{"video.created": {...}}`); the OpenAPI document publishes them under `webhooks`."""


@hookspec(firstresult=True)
def event_broker(ctx: AppContext) -> EventBroker | None:
    """Return the pub/sub live streams listen to (an object satisfying
    `core.events.EventBroker`), shared by every worker; called after `startup`. The
    first plugin that answers wins; the kernel's in-process broker is the `trylast`
    default. The kernel closes it at shut-down."""
