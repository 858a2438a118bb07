"""Redis failing: killed mid-test and restarted, or hung (accepting, never answering).
Requests keep answering, /readyz says degraded, and the cache is used again once Redis
is back. Every test runs its own Redis server so it can kill it."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import attrs
import pytest

from core.cache import CacheUnavailable, LocalFallback
from plugins.cache_redis.backend import RedisCache
from plugins.cache_redis.breaker import CircuitBreaker
from plugins.cache_redis.config import RedisCacheSettings
from tests.cache.items_plugin import CachedItemsPlugin

BREAKER_SECONDS = 0.3
# Far above the socket timeouts (0.25 s): only a hang gets near it.
HANG = 5.0


def wait_until(condition, timeout: float = 10.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def redis_settings(url: str, prefix: str = "itube-faults") -> RedisCacheSettings:
    return RedisCacheSettings(url=url, key_prefix=prefix, breaker_open_seconds=BREAKER_SECONDS)


def app_config(make_config, url: str, **extra):
    table = {"url": url, "key_prefix": "itube-faults", "breaker_open_seconds": BREAKER_SECONDS}
    return make_config(["cache_redis"], plugins={"cache_redis": {**table, **extra}})


# -- through the app -----------------------------------------------------------------------


def test_requests_survive_redis_dying_and_use_it_again_when_it_returns(
    make_config, make_client, redis_server, caplog
):
    items = CachedItemsPlugin()
    client = make_client(app_config(make_config, redis_server.url), plugins=[items])
    raw = redis_server.client()

    assert client.get("/items/1").json() == {"id": "1"}
    assert raw.get("itube-faults:v1:item:1") == b'{"id":"1"}'
    assert client.get("/items/1").status_code == 200
    assert items.loads == ["1"]  # the second read came from Redis

    redis_server.kill()
    caplog.set_level(logging.WARNING, logger="itube.cache_redis")
    started = time.monotonic()
    for _ in range(20):
        response = client.get("/items/1")
        assert (response.status_code, response.json()) == (200, {"id": "1"})
    elapsed = time.monotonic() - started
    assert items.loads == ["1"] * 21  # every one answered from the source of truth
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cache:redis"].startswith("failing")
    assert ready.json()["checks"]["database"] == "ok"
    unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
    # Logged once per breaker interval, not once per request.
    assert 1 <= len(unavailable) <= 2 + elapsed / BREAKER_SECONDS < 21

    redis_server.start()
    raw = redis_server.client()
    assert raw.get("itube-faults:v1:item:1") is None  # a fresh, empty Redis
    assert wait_until(lambda: client.get("/items/1").status_code == 200
                      and raw.get("itube-faults:v1:item:1") is not None)
    assert client.get("/readyz").json()["status"] == "ok"


def test_an_app_starts_while_redis_is_down(make_config, make_client, redis_server):
    redis_server.kill()
    items = CachedItemsPlugin()
    client = make_client(app_config(make_config, redis_server.url), plugins=[items])
    assert client.get("/healthz").status_code == 200
    assert client.get("/items/7").status_code == 200
    assert client.get("/readyz").json()["status"] == "degraded"

    redis_server.start()
    raw = redis_server.client()
    assert wait_until(lambda: client.get("/items/7").status_code == 200
                      and raw.get("itube-faults:v1:item:7") is not None)


def test_a_hung_redis_does_not_hang_requests(make_config, make_client, silent_server):
    items = CachedItemsPlugin()
    client = make_client(app_config(make_config, silent_server.url), plugins=[items])
    started = time.monotonic()
    for item in ("1", "2", "1"):
        assert client.get(f"/items/{item}").status_code == 200
    ready = client.get("/readyz")
    assert time.monotonic() - started < HANG
    assert silent_server.connections >= 1  # it connected, then gave up waiting
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["cache:redis"].startswith("failing")


def test_a_stampede_through_the_app_queries_once(make_config, make_client, redis_server):
    items = CachedItemsPlugin(load_seconds=0.3)
    # A healthy Redis on a busy machine: generous timeouts, so no call fails and this
    # measures single flight alone (failures are the other tests' business).
    patient = app_config(make_config, redis_server.url, socket_timeout_seconds=5.0,
                         connect_timeout_seconds=5.0)
    client = make_client(patient, plugins=[items])
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda _: client.get("/items/cold"), range(32)))
    assert {r.status_code for r in responses} == {200}
    assert items.loads == ["cold"]


# -- the backend alone -----------------------------------------------------------------------

on_anyio = pytest.mark.anyio


@on_anyio
async def test_a_hung_redis_fails_calls_within_the_socket_timeout(silent_server):
    backend = RedisCache(redis_settings(silent_server.url))
    await asyncio.wait_for(backend.open(), HANG)
    try:
        with pytest.raises(CacheUnavailable):
            await asyncio.wait_for(backend.get("k"), HANG)
        assert backend.breaker.is_open
    finally:
        await backend.close()


@on_anyio
async def test_a_hung_redis_fails_a_batch_of_calls_within_the_socket_timeout(silent_server):
    backend = RedisCache(redis_settings(silent_server.url))
    await asyncio.wait_for(backend.open(), HANG)
    backend.breaker.succeeded()  # the failed ping opened it: let a batch through
    try:
        started = time.monotonic()
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(backend.get(f"k{n}") for n in range(64)), backend.add("a", b"1", 30),
                           return_exceptions=True),
            HANG,
        )
        assert time.monotonic() - started < HANG
        assert all(isinstance(o, CacheUnavailable) for o in outcomes[:64])
        assert outcomes[64] is True  # answered from the per-process store
        assert backend.breaker.is_open
    finally:
        await backend.close()


@on_anyio
async def test_a_down_redis_fails_a_batch_and_counts_locally(redis_server):
    backend = RedisCache(redis_settings(redis_server.url))
    await backend.open()
    try:
        redis_server.kill()
        outcomes = await asyncio.gather(
            backend.get("k"), backend.set("k", b"v", 30), backend.delete("k"),
            backend.add("replay:sig", b"1", 30), backend.incr("login", 30),
            return_exceptions=True,
        )
        assert [type(o) for o in outcomes[:3]] == [CacheUnavailable] * 3
        assert outcomes[3:] == [True, 1]
        assert backend.breaker.is_open
    finally:
        await backend.close()


@on_anyio
async def test_a_down_redis_raises_for_data_and_counts_locally(redis_server):
    backend = RedisCache(redis_settings(redis_server.url))
    await backend.open()
    try:
        redis_server.kill()
        for call in (backend.get("k"), backend.set("k", b"v", 30), backend.delete("k"),
                     backend.ping(), backend.claim(["seen"], 30),
                     LocalFallback(backend).claim(["seen"], 30)):
            with pytest.raises(CacheUnavailable):
                await call
        # Rate-limit counters and replay entries are kept per process meanwhile.
        assert [await backend.incr("login", 30), await backend.incr("login", 30)] == [1, 2]
        assert 0 < await backend.ttl("login") <= 30
        assert await backend.add("replay:sig", b"1", 30) is True
        assert await backend.add("replay:sig", b"1", 30) is False

        redis_server.start()
        await asyncio.sleep(BREAKER_SECONDS * 1.5)
        assert await backend.incr("fresh", 30) == 1
        assert redis_server.client().get("itube-faults:v1:fresh") == b"1"
        # A signature seen while Redis was down stays refused once it is back.
        assert await backend.add("replay:sig", b"1", 30) is False
        assert await backend.add("replay:new", b"1", 30) is True
    finally:
        await backend.close()


@on_anyio
async def test_without_the_local_fallback_every_call_raises(redis_server):
    settings = redis_settings(redis_server.url)
    settings.local_fallback_entries = 0
    backend = RedisCache(settings)
    await backend.open()
    try:
        redis_server.kill()
        for call in (backend.incr("n", 30), backend.add("a", b"1", 30), backend.ttl("n")):
            with pytest.raises(CacheUnavailable):
                await call
    finally:
        await backend.close()


@on_anyio
async def test_a_revocation_made_while_redis_is_down_is_kept(redis_server):
    backend = RedisCache(redis_settings(redis_server.url))
    await backend.open()
    deny_list = LocalFallback(backend)
    try:
        await deny_list.set("deny:before", b"1", 60)
        redis_server.kill()
        await deny_list.set("deny:during", b"1", 60)  # logout while Redis is down
        assert await deny_list.get("deny:during") == b"1"
        assert await deny_list.get("deny:unknown") is None

        redis_server.start()
        await asyncio.sleep(BREAKER_SECONDS * 1.5)
        assert await deny_list.get("deny:during") == b"1"  # still refused in this process
        await deny_list.set("deny:after", b"1", 60)
        assert redis_server.client().get("itube-faults:v1:deny:after") == b"1"
    finally:
        await deny_list.close()
        await backend.close()


@on_anyio
async def test_after_a_restart_stale_pooled_connections_do_not_open_the_breaker(
    redis_server, caplog
):
    # Generous timeouts: a stale connection fails at once, while 50 fresh ones opening on a
    # busy machine must not time out and pass for what this test is about.
    backend = RedisCache(attrs.evolve(redis_settings(redis_server.url),
                                      socket_timeout_seconds=2.0, connect_timeout_seconds=2.0))
    await backend.open()
    many = [f"k{n}" for n in range(50)]
    try:
        await asyncio.gather(*(backend.get(key) for key in many))  # a pool of many connections
        redis_server.kill()
        with pytest.raises(CacheUnavailable):
            await backend.get("k0")
        redis_server.start()  # the same port: every pooled connection is now dead
        await asyncio.sleep(BREAKER_SECONDS * 1.5)
        caplog.set_level(logging.WARNING, logger="itube.cache_redis")
        caplog.clear()
        await backend.ping()  # the probe: the breaker closes
        for _ in range(3):
            outcomes = await asyncio.gather(*(backend.get(key) for key in many),
                                            return_exceptions=True)
            assert [o for o in outcomes if isinstance(o, BaseException)] == []
        assert not backend.breaker.is_open
        assert [r.getMessage() for r in caplog.records] == ["redis answers again; using it"]
    finally:
        await backend.close()


# -- the breaker ---------------------------------------------------------------------------


def test_the_breaker_reports_once_per_interval_and_probes_once(caplog):
    now = [100.0]
    breaker = CircuitBreaker(5.0, log=logging.getLogger("itube.test"), what="redis",
                             clock=lambda: now[0])
    caplog.set_level(logging.WARNING, logger="itube.test")
    error = ConnectionError("refused")
    for _ in range(50):  # a burst of concurrent failures
        breaker.failed(error)
    assert not breaker.allow()
    assert len(caplog.records) == 1

    now[0] += 5.0
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # only one at a time
    breaker.failed(error)
    assert len(caplog.records) == 2
    assert not breaker.allow()

    now[0] += 5.0
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.allow() and breaker.allow() and not breaker.is_open
    assert "answers again" in caplog.records[-1].getMessage()


def test_a_cancelled_probe_frees_the_slot():
    now = [0.0]
    breaker = CircuitBreaker(1.0, log=logging.getLogger("itube.test"), what="redis",
                             clock=lambda: now[0])
    breaker.failed(ConnectionError())
    now[0] = 1.0
    assert breaker.allow()
    breaker.abandoned()
    assert breaker.allow()


@on_anyio
async def test_an_invalidation_that_failed_is_sent_once_redis_answers(redis_server):
    backend = RedisCache(redis_settings(redis_server.url))
    await backend.open()
    raw = redis_server.client()
    try:
        await backend.set("video:1", b"before the change", 60)
        raw.execute_command("CLIENT", "PAUSE", 700, "ALL")  # Redis stops answering a while
        with pytest.raises(CacheUnavailable):
            await backend.delete("video:1")  # the change's invalidation times out
        await asyncio.sleep(0.8)
        assert raw.get("itube-faults:v1:video:1") == b"before the change"

        await asyncio.sleep(BREAKER_SECONDS)
        assert await backend.get("video:2") is None  # Redis answers again ...
        assert raw.get("itube-faults:v1:video:1") is None  # ... and heard the invalidation
    finally:
        raw.close()
        await backend.close()
