"""The Redis backend beyond the contract: keys, schema versions, sharing, auto pipelining,
the plugin's hooks and settings."""

from __future__ import annotations

import asyncio
import inspect

import pytest
import redis
from starlette.testclient import TestClient

import plugins.cache_redis as cache_redis_plugin
from core.app import create_app
from core.cache import CacheUnavailable, MemoryCache
from core.config import config_from_dict, masked
from core.errors import ConfigError
from plugins.cache_redis.backend import RedisCache
from plugins.cache_redis.config import RedisCacheSettings

pytestmark = pytest.mark.anyio


@pytest.fixture
def raw_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


async def opened(settings: RedisCacheSettings) -> RedisCache:
    backend = RedisCache(settings)
    await backend.open()
    return backend


async def test_keys_carry_the_prefix_and_the_schema_version(redis_url, redis_prefix, raw_redis):
    backend = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix,
                                              schema_version=3))
    try:
        await backend.set("video:42", b'{"id": 42}', 30)
        await backend.incr("hits", 30)
    finally:
        await backend.close()
    assert raw_redis.get(f"{redis_prefix}:v3:video:42") == b'{"id": 42}'
    assert raw_redis.get(f"{redis_prefix}:v3:hits") == b"1"
    assert 0 < raw_redis.pttl(f"{redis_prefix}:v3:video:42") <= 30_000


async def test_a_new_schema_version_never_reads_the_old_shapes(redis_url, redis_prefix):
    old = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix))
    new = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix,
                                          schema_version=2))
    try:
        await old.set("video:1", b'{"title": "old shape"}', 30)
        assert await new.get("video:1") is None
    finally:
        await old.close()
        await new.close()


async def test_backends_with_the_same_prefix_share_entries(redis_url, redis_prefix):
    settings = RedisCacheSettings(url=redis_url, key_prefix=redis_prefix)
    one, other = await opened(settings), await opened(settings)
    try:
        await one.set("video:1", b"v1", 30)
        assert await other.get("video:1") == b"v1"
        await other.delete("video:1")
        assert await one.get("video:1") is None
        assert await one.add("replay:sig", b"1", 30) is True
        assert await other.add("replay:sig", b"1", 30) is False
        assert [await one.incr("login:ip", 30), await other.incr("login:ip", 30)] == [1, 2]
    finally:
        await one.close()
        await other.close()


async def test_another_prefix_sees_nothing(redis_url, redis_prefix):
    one = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix))
    other = await opened(RedisCacheSettings(url=redis_url, key_prefix=f"{redis_prefix}x"))
    try:
        await one.set("k", b"v", 30)
        assert await other.get("k") is None
    finally:
        await one.close()
        await other.close()


async def test_the_pool_fails_fast(redis_url, redis_prefix):
    backend = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix,
                                              socket_timeout_seconds=0.3,
                                              connect_timeout_seconds=0.2))
    try:
        options = backend._redis.client.connection_pool.connection_kwargs
        assert options["retry"].get_retries() == 0
        assert (options["socket_timeout"], options["socket_connect_timeout"]) == (0.3, 0.2)
    finally:
        await backend.close()


def pooled_connections(backend: RedisCache) -> int:
    pool = backend._redis.client.connection_pool
    return len(pool._available_connections) + len(pool._in_use_connections)


async def test_concurrent_calls_share_one_round_trip(redis_url, redis_prefix):
    backend = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix))
    try:
        await backend.set("video:1", b"v1", 30)
        replies = await asyncio.gather(*(backend.get(k) for k in ("video:1", "video:2") * 32))
        assert replies == [b"v1", None] * 32
        assert pooled_connections(backend) == 1  # one pipeline, not 64 connections
    finally:
        await backend.close()


async def test_a_wrong_type_fails_its_own_command_only(redis_url, redis_prefix, raw_redis):
    raw_redis.rpush(f"{redis_prefix}:v1:a-list", b"item")
    backend = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix))
    try:
        await backend.set("video:1", b"v1", 30)
        outcomes = await asyncio.gather(
            backend.get("a-list"), backend.get("video:1"), backend.add("replay:sig", b"1", 30),
            backend.set("video:2", b"v2", 30), backend.ttl("video:1"), backend.delete("gone"),
            return_exceptions=True,
        )
        assert isinstance(outcomes[0], CacheUnavailable)
        assert "WRONGTYPE" in str(outcomes[0])
        assert outcomes[1:4] == [b"v1", True, None]
        assert 0 < outcomes[4] <= 30 and outcomes[5] is None
        assert pooled_connections(backend) == 1  # they were one batch
        assert not backend.breaker.is_open  # a Redis that answers
    finally:
        await backend.close()


async def batch_formed(backend: RedisCache, followers: int) -> None:
    """Until the first call leads a batch the others have joined (each turn of the loop
    lets every started call take its first step)."""
    for _ in range(100):
        if len(backend._redis._forming or ()) == followers:
            return
        await asyncio.sleep(0)
    raise AssertionError("the calls never formed one batch")


async def test_cancelled_callers_leave_their_batch_its_answers(redis_url, redis_prefix):
    backend = await opened(RedisCacheSettings(url=redis_url, key_prefix=redis_prefix))
    try:
        await backend.set("video:1", b"v1", 30)
        calls = [asyncio.ensure_future(backend.get("video:1")) for _ in range(4)]
        await batch_formed(backend, followers=3)
        calls[0].cancel()  # the leader, before the batch is sent
        calls[1].cancel()
        assert await asyncio.wait_for(asyncio.gather(*calls[2:]), 5) == [b"v1", b"v1"]
        assert all(call.cancelled() for call in calls[:2])
        assert await backend.get("video:1") == b"v1"
    finally:
        await backend.close()


def test_the_backend_hook_is_a_plain_function():
    # A coroutine is truthy: an `async def` firstresult hook would always win.
    assert not inspect.iscoroutinefunction(cache_redis_plugin.cache_backend)


def test_an_app_uses_redis_and_closes_its_pool(make_config, redis_url, redis_prefix):
    config = make_config(["cache_redis"],
                         plugins={"cache_redis": {"url": redis_url, "key_prefix": redis_prefix}})
    app = create_app(config)
    ctx = app.state.ctx
    with TestClient(app) as client:
        backend = ctx.state["cache_redis"]
        assert ctx.cache is backend and ctx.cache.shared
        ready = client.get("/readyz").json()
        assert ready == {"status": "ok", "checks": {"database": "ok", "cache:redis": "ok"}}
    assert backend._redis is None and "cache_redis" not in ctx.state


def test_two_apps_in_one_process_own_their_pools(make_config, make_client, redis_url,
                                                 redis_prefix):
    config = make_config(["cache_redis"],
                         plugins={"cache_redis": {"url": redis_url, "key_prefix": redis_prefix}})
    first, second = make_client(config), make_client(config)
    one, other = (c.app.state.ctx.cache for c in (first, second))
    assert one is not other and one._redis.client is not other._redis.client
    assert first.get("/readyz").status_code == second.get("/readyz").status_code == 200


def test_without_the_plugin_the_cache_is_in_process(make_config, make_client):
    client = make_client(make_config())
    assert isinstance(client.app.state.ctx.cache, MemoryCache)


def settings_from(table: dict, environ: dict[str, str] | None = None) -> RedisCacheSettings:
    from core.app import prepare

    config = config_from_dict(
        {"app": {"plugins": ["cache_redis"]}, "plugins": {"cache_redis": table}},
        environ=environ or {},
    )
    return prepare(config).settings("cache_redis")


def test_the_deployment_variables_name_the_server():
    table = {"host": "env:REDIS_HOST", "port": "env:REDIS_PORT|6379"}
    settings = settings_from(table, {"REDIS_HOST": "cache.internal"})
    assert (settings.host, settings.port) == ("cache.internal", 6379)
    settings = settings_from(table, {"REDIS_HOST": "cache.internal", "REDIS_PORT": "6380"})
    assert settings.port == 6380


def test_secrets_are_masked_when_printed():
    settings = settings_from({"url": "redis://user:hunter2@cache:6379/0", "password": "s3cret"})
    printed = str(masked(settings))
    assert "hunter2" not in printed and "s3cret" not in printed


@pytest.mark.parametrize(("table", "named"), [
    ({"key_prefix": "a:b"}, "key_prefix"),
    ({"schema_version": 0}, "schema_version"),
    ({"socket_timeout_seconds": 0.0}, "socket_timeout_seconds"),
    ({"url": "http://cache:6379"}, "url"),
    ({"port": "not-a-port"}, "port"),
    ({"socket_timeout": 1.0}, "socket_timeout"),
])
def test_bad_settings_stop_start_up(table, named):
    with pytest.raises(ConfigError, match=f"cache_redis.{named}"):
        settings_from(table)
