"""The app's routes, the kernel's then each plugin's, and the clashes that stop start-up."""

from __future__ import annotations

import re

from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from core import health, openapi
from core.context import AppContext
from core.errors import ConfigError
from core.metrics_endpoint import metrics_routes
from core.plugins import callers_in_order, flatten, plugin_label

KERNEL = "the kernel"
_PARAMETER = re.compile(r"\{[^}:]*(:[^}]*)?\}")


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
