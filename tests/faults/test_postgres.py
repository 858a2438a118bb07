"""PostgreSQL cut (the port refuses, open connections are reset) and frozen (connections
are accepted and never answered), through a proxy in front of the shared server: every
database-backed route answers 503 problem+json with Retry-After within the configured
bounds, `/readyz` within its budget, and 200s come back after `resume` without a restart."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from core import db
from core.app import create_app
from core.config import DatabaseSection
from core.errors import ServiceUnavailable
from core.health import READINESS_BUDGET_SECONDS
from tests.faults.support import (
    SERVICE,
    USER,
    VIDEOS,
    app_config,
    assert_unavailable,
    timed,
    wait_until,
)

# Small bounds keep the tests short; every assertion leaves a wide margin above them.
CONNECT, ACQUIRE, STATEMENT = 1.0, 1.0, 3.0
BOUNDS = {"connect_timeout_seconds": CONNECT, "pool_acquire_timeout_seconds": ACQUIRE,
          "statement_timeout_seconds": STATEMENT}
MARGIN = 4.0


def database_routes() -> list[tuple[str, str, dict[str, str], int]]:
    """One route of each kind that reads or writes the database, and its healthy status."""
    unknown = uuid.uuid4()
    return [
        ("GET", f"{VIDEOS}/{unknown}", {}, 404),
        ("GET", f"{VIDEOS}/mine", USER, 200),
        ("GET", f"{VIDEOS}/by-key/videos/alice/{unknown}", SERVICE, 404),
        ("PATCH", f"{VIDEOS}/{unknown}/status?status=COMPLETED", SERVICE, 404),
    ]


def test_a_database_that_goes_down_answers_503_then_recovers(postgres_proxy, moto_endpoint):
    proxy, url = postgres_proxy
    config = app_config(url, moto_endpoint, ["video"], database={"pool_max_size": 2, **BOUNDS})
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        for method, path, headers, healthy in database_routes():
            assert client.request(method, path, headers=headers).status_code == healthy

        proxy.refuse()
        for method, path, headers, _ in database_routes():
            response, elapsed = timed(client.request, method, path, headers=headers)
            assert_unavailable(response)
            assert elapsed < ACQUIRE + MARGIN, (path, elapsed)
        ready = client.get("/readyz")
        assert assert_unavailable(ready)["detail"] == "Not ready: database failing"
        assert ready.json()["checks"]["database"] == "failing: ConnectionRefusedError"
        assert client.get("/healthz").status_code == 200

        proxy.resume()
        for method, path, headers, healthy in database_routes():
            assert client.request(method, path, headers=headers).status_code == healthy
        assert client.get("/readyz").json()["status"] == "ok"


def server_config(database_url: str, moto_endpoint: str) -> str:
    return f"""
[app]
plugins = ["local_aws", "video", "tests.support.stand_in_plugins"]

[database]
url = "{database_url}"
migrate_on_start = true
pool_min_size = 1
pool_max_size = 3
connect_timeout_seconds = {CONNECT}
pool_acquire_timeout_seconds = {ACQUIRE}
statement_timeout_seconds = {STATEMENT}

[logging]
level = "WARNING"
access_log = false

[plugins.local_aws]
endpoint_url = "{moto_endpoint}"
"""


def flood(base_url: str, requests: int = 24, threads: int = 8) -> list[tuple[Any, float]]:
    """Concurrent reads that need the database (unknown ids: 404 when it answers)."""
    with httpx.Client(base_url=base_url, timeout=60) as http, \
            ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(
            lambda _: timed(http.get, f"{VIDEOS}/{uuid.uuid4()}"), range(requests)
        ))


@pytest.mark.slow
def test_under_load_a_cut_or_frozen_database_answers_503_in_bounded_time(
    postgres_proxy, moto_endpoint, start_server
):
    proxy, url = postgres_proxy
    server = start_server(server_config(url, moto_endpoint))
    assert {r.status_code for r, _ in flood(server.url)} == {404}

    proxy.refuse()  # down: every answer a 503 within the pool-acquire timeout
    for response, elapsed in flood(server.url):
        assert_unavailable(response)
        assert elapsed < ACQUIRE + MARGIN
    proxy.resume()
    assert wait_until(lambda: {r.status_code for r, _ in flood(server.url, 8)} == {404})

    proxy.black_hole()  # frozen: within the statement timeout; /readyz within its budget
    with ThreadPoolExecutor(max_workers=1) as background:
        under_freeze = background.submit(flood, server.url)
        ready, ready_elapsed = timed(httpx.get, f"{server.url}/readyz", timeout=60)
        answers = under_freeze.result()
    assert ready_elapsed < READINESS_BUDGET_SECONDS + MARGIN
    assert assert_unavailable(ready)["detail"] == "Not ready: database failing"
    for response, elapsed in answers:
        assert_unavailable(response)
        assert elapsed < STATEMENT + ACQUIRE + MARGIN

    proxy.resume()
    assert wait_until(lambda: {r.status_code for r, _ in flood(server.url, 8)} == {404})
    assert {r.status_code for r, _ in flood(server.url)} == {404}
    assert httpx.get(f"{server.url}/readyz", timeout=10).status_code == 200
    assert not [m for m in server.log_messages() if "unhandled error" in m]


# -- the engine on its own -------------------------------------------------------------------

on_anyio = pytest.mark.anyio


@on_anyio
@pytest.mark.parametrize("frozen_at", ["a statement", "the commit"])
async def test_a_transaction_cut_short_gives_its_connection_back(postgres_proxy, frozen_at):
    proxy, url = postgres_proxy
    section = DatabaseSection(url=url, pool_min_size=1, pool_max_size=1, **BOUNDS)
    engine = db.make_engine(section)
    await db.open_pool(engine, section)

    async def scenario() -> None:
        with pytest.raises(ServiceUnavailable):
            async with engine.transaction():
                await engine.run_ddl("SELECT 1")
                proxy.black_hole()
                if frozen_at == "a statement":
                    await engine.run_ddl("SELECT 2")
        proxy.resume()
        # The pool's only connection came back: the next transaction gets one at once.
        async with engine.transaction():
            assert [dict(row) for row in await engine.run_ddl("SELECT 3 AS n")] == [{"n": 3}]

    try:
        # A hang here would be the bug: fail instead of waiting for ever.
        await asyncio.wait_for(scenario(), STATEMENT + ACQUIRE + 20)
    finally:
        proxy.resume()
        await db.close_pool(engine)
