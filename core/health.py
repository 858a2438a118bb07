"""Liveness, readiness and introspection routes.

`/readyz` answers within `READINESS_BUDGET_SECONDS` whatever its checks do: a check that
has not answered by then is reported failing and left running (never cancelled and awaited,
which a check blocked in a thread or shielded from cancellation would turn into a wait of
its own), and the next probe waits on that same run instead of starting another.

In production, versions and failure details are shown to internal services only; anyone
else sees plugin names and hooks, and each check as "ok" or "failing".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import Response

from core.deps import current_service, get_ctx
from core.errors import Forbidden, NotReady, Problem, Unauthorized
from core.http import respond
from core.plugins import describe_plugins
from core.problems import problem_response
from core.routing import api_route

READINESS_BUDGET_SECONDS = 2.0


class NoAnswer(Exception):
    """A check that did not answer within the budget."""


@attrs.define(eq=False)
class ReadinessCheck:
    """`check` raises when `name` is not ready. A non-critical failure only degrades.

    `remember_seconds` reuses the last outcome that long, for checks that cost someone else
    a call (an AWS endpoint) and need not run on every probe.
    """

    name: str
    check: Callable[[], Awaitable[None]]
    critical: bool = True
    remember_seconds: float = 0.0
    _running: asyncio.Task[BaseException | None] | None = attrs.field(
        default=None, init=False, repr=False
    )
    _last: tuple[float, BaseException | None] | None = attrs.field(
        default=None, init=False, repr=False
    )

    async def outcome(self, budget: float) -> BaseException | None:
        """None when ready, else what failed; within `budget` seconds whatever the check
        does."""
        if self._last is not None and time.monotonic() - self._last[0] < self.remember_seconds:
            return self._last[1]
        running = self._running
        if running is None or running.done():
            running = self._running = asyncio.ensure_future(self._run())
        done, _ = await asyncio.wait({running}, timeout=budget)
        if not done:
            return NoAnswer(f"no answer within {budget}s")
        if running.cancelled():
            return NoAnswer("cancelled")
        return running.result()

    async def _run(self) -> BaseException | None:
        outcome: BaseException | None = None
        try:
            await self.check()
        except Exception as exc:  # a check reports, it never raises
            outcome = exc
        self._last = (time.monotonic(), outcome)
        return outcome

    def stop(self) -> None:
        """Cancel a run still going (the app is shutting down)."""
        if self._running is not None and not self._running.done():
            self._running.cancel()
        self._running = None


def stop_checks(checks: Iterable[ReadinessCheck]) -> None:
    for check in checks:
        check.stop()


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
    # Shown in development and to internal services only.
    version: str | None
    hooks: list[str]


def describe_outcome(outcome: BaseException | None, *, detailed: bool) -> str:
    """`ok`, `failing`, or with details `failing: <what>` (a type name, or a `NotReady`
    message: never an exception's own text, which may carry anything)."""
    if outcome is None:
        return "ok"
    if not detailed:
        return "failing"
    if isinstance(outcome, NotReady | NoAnswer):
        return f"failing: {outcome}"
    if isinstance(outcome, Problem) and outcome.__cause__ is not None:
        outcome = outcome.__cause__  # what the dependency raised, not our 503
    return f"failing: {type(outcome).__name__}"


async def shows_details(request: Request) -> bool:
    """Versions and failure details: in development, or to an internal service."""
    if not get_ctx(request).config.is_production:
        return True
    try:
        await current_service(request)
    except (Unauthorized, Forbidden):
        return False
    return True


async def healthz(request: Request) -> Response:
    return respond(Health(status="ok"))


async def readyz(request: Request) -> Response:
    checks = get_ctx(request).readiness
    details = asyncio.ensure_future(shows_details(request))  # meanwhile, not after
    outcomes = await asyncio.gather(
        *(check.outcome(READINESS_BUDGET_SECONDS) for check in checks)
    )
    detailed = await details
    report = {
        check.name: describe_outcome(outcome, detailed=detailed)
        for check, outcome in zip(checks, outcomes, strict=True)
    }
    failing = [c for c, o in zip(checks, outcomes, strict=True) if o is not None]
    critical = [check.name for check in failing if check.critical]
    if critical:
        return problem_response(
            503, f"Not ready: {', '.join(critical)} failing", checks=report,
            headers={"Retry-After": "5"},
        )
    status = "degraded" if failing else "ok"
    return respond(Readiness(status=status, checks=report))


async def list_plugins(request: Request) -> Response:
    plugins: list[dict[str, Any]] = describe_plugins(get_ctx(request).pm)
    if not await shows_details(request):
        plugins = [{**plugin, "version": None} for plugin in plugins]
    return respond(plugins)


ROUTES = [
    api_route("/healthz", healthz, methods=["GET"], summary="Liveness", response=Health,
              tags=["operations"]),
    api_route("/readyz", readyz, methods=["GET"], response=Readiness, errors=[503],
              summary="Readiness of the database, the cache and every plugin check",
              tags=["operations"]),
    api_route("/-/plugins", list_plugins, methods=["GET"], response=list[PluginInfo],
              summary="Loaded plugins and the hooks each implements (versions in "
                      "development and for internal services)",
              tags=["operations"]),
]
