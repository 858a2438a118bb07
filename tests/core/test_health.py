"""`/readyz` and `/-/plugins`: what each caller may see, and an answer in bounded time
whatever a check does."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import anyio.to_thread
import pytest
from starlette.requests import Request

from core import __version__
from core.auth import AuthenticationFailed, ServicePrincipal
from core.context import AppContext
from core.health import READINESS_BUDGET_SECONDS, ReadinessCheck
from core.plugins import hookimpl
from tests.core.test_http import assert_problem

EXAMPLE = "tests.core.example_plugin"
SERVICE = {"x-service-token": "right"}
# Generous: the machine is shared; an answer that waited for its check would take HANG.
ANSWERS_WITHIN = READINESS_BUDGET_SECONDS + 3.0
HANG = 12.0


class TokenServiceAuth:
    """A service strategy: the right token is the transcoder, any other one a 401."""

    name = "test-token"
    security_scheme: dict[str, Any] = {"type": "apiKey", "in": "header", "name": "X-Service-Token"}

    async def authenticate(self, request: Request, body: bytes) -> ServicePrincipal | None:
        token = request.headers.get("x-service-token")
        if token is None:
            return None
        if token != "right":
            raise AuthenticationFailed("unknown service token")
        return ServicePrincipal(id="transcoder", method=self.name)


class TokenServiceAuthPlugin:
    @hookimpl
    def service_authenticator(self, ctx: AppContext) -> TokenServiceAuth:
        return TokenServiceAuth()


class BrokenCheckPlugin:
    """A failing critical check whose message must never reach a client."""

    @hookimpl
    def readiness_checks(self, ctx: AppContext) -> list[ReadinessCheck]:
        async def search_index() -> None:
            raise ConnectionError("search index down at 10.0.0.7 (password=hunter2)")

        return [ReadinessCheck("search-index", search_index)]


def production(kernel_config, *plugins: str):
    return kernel_config(list(plugins), app={"environment": "production"})


# -- who sees what ---------------------------------------------------------------------------


@pytest.mark.hooks("readiness_checks")
def test_in_production_an_anonymous_caller_sees_ok_or_failing_only(make_client, kernel_config):
    client = make_client(production(kernel_config),
                         plugins=[TokenServiceAuthPlugin(), BrokenCheckPlugin()])
    for headers in ({}, {"x-service-token": "wrong"}):  # no credential; a wrong one
        response = client.get("/readyz", headers=headers)
        body = assert_problem(response, 503)
        assert body["detail"] == "Not ready: search-index failing"
        assert body["checks"] == {"database": "ok", "cache:memory": "ok",
                                  "search-index": "failing"}
        assert "ConnectionError" not in response.text


@pytest.mark.hooks("readiness_checks", "service_authenticator")
def test_in_production_a_service_sees_the_failure_types(make_client, kernel_config):
    client = make_client(production(kernel_config),
                         plugins=[TokenServiceAuthPlugin(), BrokenCheckPlugin()])
    response = client.get("/readyz", headers=SERVICE)
    body = assert_problem(response, 503)
    assert body["checks"]["search-index"] == "failing: ConnectionError"
    assert "10.0.0.7" not in response.text and "hunter2" not in response.text


def test_in_development_anyone_sees_the_failure_types(make_client, kernel_config):
    client = make_client(kernel_config(), plugins=[BrokenCheckPlugin()])
    body = assert_problem(client.get("/readyz"), 503)
    assert body["checks"]["search-index"] == "failing: ConnectionError"


def test_in_production_plugin_versions_are_for_services_only(make_client, kernel_config):
    client = make_client(production(kernel_config, EXAMPLE), plugins=[TokenServiceAuthPlugin()])
    anonymous = {p["name"]: p for p in client.get("/-/plugins").json()}
    service = {p["name"]: p for p in client.get("/-/plugins", headers=SERVICE).json()}
    assert set(anonymous) == set(service) and EXAMPLE in anonymous
    assert anonymous[EXAMPLE]["hooks"] == service[EXAMPLE]["hooks"] != []
    assert {p["version"] for p in anonymous.values()} == {None}
    assert service[EXAMPLE]["version"] == "1.0.0"
    assert service["core.defaults"]["version"] == __version__
    wrong = client.get("/-/plugins", headers={"x-service-token": "wrong"}).json()
    assert {p["version"] for p in wrong} == {None}


def test_in_development_plugin_versions_are_shown(make_client, kernel_config):
    client = make_client(kernel_config([EXAMPLE]))
    versions = {p["name"]: p["version"] for p in client.get("/-/plugins").json()}
    assert versions[EXAMPLE] == "1.0.0"


# -- bounded time ----------------------------------------------------------------------------


class StuckChecksPlugin:
    """Checks that do not answer until released: one keeps waiting after it is cancelled
    (as asyncpg's release of a connection whose query was cancelled waits on the silent
    server), one blocks a worker thread. Counts how often each is started."""

    def __init__(self) -> None:
        self.started = {"cleanup": 0, "thread": 0}
        self.release = threading.Event()

    async def _until_released(self) -> None:
        deadline = time.monotonic() + HANG
        while not self.release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    @hookimpl
    def readiness_checks(self, ctx: AppContext) -> list[ReadinessCheck]:
        async def cleanup() -> None:
            self.started["cleanup"] += 1
            try:
                await self._until_released()
            finally:  # a cancelled wait's clean-up that waits on the dependency again
                await asyncio.shield(self._until_released())

        async def thread() -> None:
            self.started["thread"] += 1
            await anyio.to_thread.run_sync(self.release.wait, HANG)

        return [ReadinessCheck("cleanup", cleanup), ReadinessCheck("thread", thread)]


@pytest.mark.hooks("readiness_checks")
def test_readyz_answers_within_its_budget_when_checks_hang(make_client, kernel_config):
    stuck = StuckChecksPlugin()
    client = make_client(kernel_config(), plugins=[stuck])
    try:
        for _ in range(3):
            started = time.monotonic()
            response = client.get("/readyz")
            assert time.monotonic() - started < ANSWERS_WITHIN
            body = assert_problem(response, 503)
            assert body["detail"] == "Not ready: cleanup, thread failing"
            no_answer = f"failing: no answer within {READINESS_BUDGET_SECONDS}s"
            assert body["checks"] == {"database": "ok", "cache:memory": "ok",
                                      "cleanup": no_answer, "thread": no_answer}
        # Each probe waited on the run already going: hung checks do not pile up.
        assert stuck.started == {"cleanup": 1, "thread": 1}
    finally:
        stuck.release.set()


class CountingCheckPlugin:
    def __init__(self, remember_seconds: float) -> None:
        self.remember_seconds = remember_seconds
        self.calls = 0
        self.failing = False

    @hookimpl
    def readiness_checks(self, ctx: AppContext) -> list[ReadinessCheck]:
        async def costly() -> None:
            self.calls += 1
            if self.failing:
                raise TimeoutError

        return [ReadinessCheck("costly", costly, critical=False,
                               remember_seconds=self.remember_seconds)]


@pytest.mark.hooks("readiness_checks")
def test_a_check_may_reuse_its_last_outcome(make_client, kernel_config):
    remembered = CountingCheckPlugin(remember_seconds=60.0)
    client = make_client(kernel_config(), plugins=[remembered])
    assert [client.get("/readyz").json()["status"] for _ in range(4)] == ["ok"] * 4
    assert remembered.calls == 1
    remembered.failing = True
    assert client.get("/readyz").json()["checks"]["costly"] == "ok"  # still remembered

    every_time = CountingCheckPlugin(remember_seconds=0.0)
    client = make_client(kernel_config(), plugins=[every_time])
    for _ in range(3):
        client.get("/readyz")
    assert every_time.calls == 3
    every_time.failing = True
    assert client.get("/readyz").json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache:memory": "ok", "costly": "failing: TimeoutError"},
    }
