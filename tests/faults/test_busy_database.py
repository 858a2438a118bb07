"""A database that answers but has no room: PostgreSQL's pool exhausted, SQLite locked by
another writer. Requests answer 503 within the bound (the pool-acquire timeout, the
statement timeout that SQLite waits for a lock), then serve again once there is room."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

from starlette.testclient import TestClient

from core.app import create_app
from tests.faults.support import SERVICE, VIDEOS, app_config, assert_unavailable, timed

WAIT = 0.5
MARGIN = 4.0


def on_app_loop(client: TestClient, make_coroutine: Any) -> Any:
    assert client.portal is not None

    async def call() -> Any:
        return await make_coroutine()

    return client.portal.call(call)


def test_an_exhausted_pool_answers_503_within_the_acquire_timeout(postgres_url, moto_endpoint):
    config = app_config(postgres_url, moto_endpoint, ["video"], database={
        "pool_min_size": 1, "pool_max_size": 1, "pool_acquire_timeout_seconds": WAIT,
    })
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        pool = client.app.state.ctx.db.pool  # type: ignore[attr-defined]
        held = on_app_loop(client, pool.acquire)  # a slow request holding the only one
        response, elapsed = timed(client.get, f"{VIDEOS}/{uuid.uuid4()}")
        assert_unavailable(response)
        assert elapsed < WAIT + MARGIN

        on_app_loop(client, lambda: pool.release(held))
        assert client.get(f"{VIDEOS}/{uuid.uuid4()}").status_code == 404


def test_a_locked_sqlite_database_answers_503_within_the_statement_timeout(
    sqlite_url, moto_endpoint
):
    config = app_config(sqlite_url, moto_endpoint, ["video"],
                        database={"statement_timeout_seconds": WAIT})
    with TestClient(create_app(config), raise_server_exceptions=False) as client:
        other_writer = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
        try:
            other_writer.execute("BEGIN EXCLUSIVE")  # holds the database, reads included
            for method, path in (("GET", f"{VIDEOS}/{uuid.uuid4()}"),
                                 ("PATCH", f"{VIDEOS}/{uuid.uuid4()}/status?status=FAILED")):
                response, elapsed = timed(client.request, method, path, headers=SERVICE)
                assert_unavailable(response)
                assert elapsed < WAIT + MARGIN
        finally:
            other_writer.rollback()
            other_writer.close()
        assert client.get(f"{VIDEOS}/{uuid.uuid4()}").status_code == 404
        assert client.get("/readyz").json()["status"] == "ok"
