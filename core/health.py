"""Liveness, readiness and introspection routes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import attrs
from starlette.requests import Request
from starlette.responses import Response

from core.deps import get_ctx
from core.http import respond
from core.plugins import describe_plugins
from core.problems import problem_response
from core.routing import api_route

CHECK_TIMEOUT_SECONDS = 2.0


@attrs.frozen
class ReadinessCheck:
    """`check` raises when `name` is not ready. A non-critical failure only degrades."""

    name: str
    check: Callable[[], Awaitable[None]]
    critical: bool = True


@attrs.define
class Health:
    status: str


@attrs.define
class Readiness:
    # "ok", or "degraded" when only non-critical checks (the cache) fail. When a critical
    # check fails the answer is a 503 problem whose `checks` member has the same report.
    status: str
    checks: dict[str, str]


@attrs.define
class PluginInfo:
    name: str
    module: str
    version: str | None
    hooks: list[str]


async def run_check(check: ReadinessCheck) -> str:
    try:
        await asyncio.wait_for(check.check(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"failing: no answer within {CHECK_TIMEOUT_SECONDS}s"
    except Exception as exc:  # a check reports, it never raises
        return f"failing: {type(exc).__name__}"
    return "ok"


async def healthz(request: Request) -> Response:
    return respond(Health(status="ok"))


async def readyz(request: Request) -> Response:
    checks = get_ctx(request).readiness
    results = await asyncio.gather(*(run_check(check) for check in checks))
    report = dict(zip((check.name for check in checks), results, strict=True))
    failing = [c for c, r in zip(checks, results, strict=True) if r != "ok"]
    critical = [check.name for check in failing if check.critical]
    if critical:
        return problem_response(
            503, f"Not ready: {', '.join(critical)} failing", checks=report,
            headers={"Retry-After": "5"},
        )
    status = "degraded" if failing else "ok"
    return respond(Readiness(status=status, checks=report))


async def list_plugins(request: Request) -> Response:
    return respond(describe_plugins(get_ctx(request).pm))


ROUTES = [
    api_route("/healthz", healthz, methods=["GET"], summary="Liveness", response=Health,
              tags=["operations"]),
    api_route("/readyz", readyz, methods=["GET"], response=Readiness, errors=[503],
              summary="Readiness of the database, the cache and every plugin check",
              tags=["operations"]),
    api_route("/-/plugins", list_plugins, methods=["GET"], response=list[PluginInfo],
              summary="Loaded plugins, their versions and the hooks each implements",
              tags=["operations"]),
]
