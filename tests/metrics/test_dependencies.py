"""Gauges read from live dependencies: the database pool and the Redis breaker."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.metrics.conftest import scrape, value
from tests.support.services import free_port
from tests.video.support import user

POOL_GAUGES = ("itube_db_pool_connections_in_use", "itube_db_pool_waiting")


def gauges(client) -> dict[str, float | None]:
    families = scrape(client)
    return {name: value(families[name], name) for name in POOL_GAUGES}


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_pool_gauges_show_lent_and_awaited_connections(make_metrics_client):
    # The events dispatcher borrows a connection when it looks at the outbox: after its
    # first look at start-up it waits an hour, so only this test's connections count.
    client = make_metrics_client(database={"pool_min_size": 1, "pool_max_size": 1},
                                 events={"dispatch_interval_seconds": 3600})
    engine = client.app.state.ctx.db
    assert client.portal is not None
    assert _eventually(lambda: gauges(client) == {POOL_GAUGES[0]: 0, POOL_GAUGES[1]: 0})

    held = client.portal.call(engine.connection)
    waiter = None
    try:
        assert gauges(client) == {POOL_GAUGES[0]: 1, POOL_GAUGES[1]: 0}
        waiter = client.portal.start_task_soon(engine.connection)  # the pool is empty: waits
        assert _eventually(lambda: gauges(client)[POOL_GAUGES[1]] == 1)
    finally:
        # Whatever happened, give every connection back: a lent one would hang shut-down.
        client.portal.call(engine.release, held)
        if waiter is not None:
            client.portal.call(engine.release, waiter.result(timeout=5))
    assert gauges(client) == {POOL_GAUGES[0]: 0, POOL_GAUGES[1]: 0}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_has_no_pool_to_show(make_metrics_client):
    client = make_metrics_client()
    assert gauges(client) == {POOL_GAUGES[0]: 0, POOL_GAUGES[1]: 0}


def _eventually(condition, attempts: int = 100) -> bool:
    for _ in range(attempts):
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def redis_client(make_metrics_client, url: str, prefix: str):
    return make_metrics_client(
        ["cache_redis", "video"],
        plugins={"cache_redis": {"url": url, "key_prefix": prefix,
                                 "breaker_open_seconds": 30}},
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_breaker_is_closed_while_redis_answers(make_metrics_client, redis_url,
                                                   redis_prefix):
    client = redis_client(make_metrics_client, redis_url, redis_prefix)
    assert client.get(f"/api/v1/upload/videos/{uuid.uuid4()}").status_code == 404
    families = scrape(client)
    assert value(families["itube_cache_breaker_open"], "itube_cache_breaker_open") == 0
    assert value(families["itube_cache_lookups"], "itube_cache_lookups_total",
                 outcome="miss") >= 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_breaker_opens_and_lookups_fail_while_redis_is_down(make_metrics_client):
    client = redis_client(make_metrics_client, f"redis://127.0.0.1:{free_port()}/0", "down")
    response = client.get(f"/api/v1/upload/videos/{uuid.uuid4()}",
                          **user("alice").request_options())
    assert response.status_code == 404
    families = scrape(client)
    assert value(families["itube_cache_breaker_open"], "itube_cache_breaker_open") == 1
    assert value(families["itube_cache_lookups"], "itube_cache_lookups_total",
                 outcome="error") >= 1
