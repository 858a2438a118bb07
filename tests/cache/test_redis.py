"""The Redis backend beyond the contract: keys, schema versions, sharing, the plugin's
hooks and settings."""

from __future__ import annotations

import inspect

import pytest
import redis
from starlette.testclient import TestClient

import plugins.cache_redis as cache_redis_plugin
from core.app import create_app
from core.cache import MemoryCache
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
        options = backend._client.connection_pool.connection_kwargs
        assert options["retry"].get_retries() == 0
        assert (options["socket_timeout"], options["socket_connect_timeout"]) == (0.3, 0.2)
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
    assert backend._client is None and "cache_redis" not in ctx.state


def test_two_apps_in_one_process_own_their_pools(make_config, make_client, redis_url,
                                                 redis_prefix):
    config = make_config(["cache_redis"],
                         plugins={"cache_redis": {"url": redis_url, "key_prefix": redis_prefix}})
    first, second = make_client(config), make_client(config)
    one, other = (c.app.state.ctx.cache for c in (first, second))
    assert one is not other and one._client is not other._client
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
