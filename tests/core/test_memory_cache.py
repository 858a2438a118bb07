"""The in-process cache and its registration as the kernel's `trylast` default."""

from __future__ import annotations

import asyncio

import pytest

from core.cache import Cache, MemoryCache
from core.context import AppContext
from core.plugins import hookimpl


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coroutine):
    return asyncio.run(coroutine)


def test_entries_expire_after_their_ttl():
    clock = Clock()
    cache = MemoryCache(clock=clock)

    async def scenario() -> list[object]:
        await cache.set("a", b"1", ttl=10)
        seen = [await cache.get("a"), await cache.ttl("a")]
        clock.now += 9.5
        seen.append(await cache.get("a"))
        clock.now += 0.5
        seen += [await cache.get("a"), await cache.ttl("a")]
        return seen

    assert run(scenario()) == [b"1", 10.0, b"1", None, None]


def test_the_least_recently_used_entry_goes_first():
    cache = MemoryCache(max_entries=2)

    async def scenario() -> list[object]:
        await cache.set("a", b"1", 60)
        await cache.set("b", b"2", 60)
        await cache.get("a")  # a is now the most recently used
        await cache.set("c", b"3", 60)
        return [await cache.get("a"), await cache.get("b"), await cache.get("c")]

    assert run(scenario()) == [b"1", None, b"3"]


def test_add_sets_only_what_is_absent_or_expired():
    clock = Clock()
    cache = MemoryCache(clock=clock)

    async def scenario() -> list[object]:
        first = await cache.add("nonce", b"1", 5)
        second = await cache.add("nonce", b"2", 5)
        clock.now += 5
        third = await cache.add("nonce", b"3", 5)
        return [first, second, third, await cache.get("nonce")]

    assert run(scenario()) == [True, False, True, b"3"]


def test_incr_counts_within_a_window_that_starts_at_the_first_increment():
    clock = Clock()
    cache = MemoryCache(clock=clock)

    async def scenario() -> list[object]:
        counts = [await cache.incr("hits", 10), await cache.incr("hits", 10)]
        clock.now += 6
        counts += [await cache.incr("hits", 10), await cache.ttl("hits")]
        clock.now += 4
        counts.append(await cache.incr("hits", 10))
        return counts

    assert run(scenario()) == [1, 2, 3, 4.0, 1]


def test_delete_and_close():
    cache = MemoryCache()

    async def scenario() -> list[object]:
        await cache.set("a", b"1", 60)
        await cache.set("b", b"2", 60)
        await cache.delete("a", "missing")
        seen = [await cache.get("a"), await cache.get("b")]
        await cache.ping()
        await cache.close()
        return [*seen, await cache.get("b")]

    assert run(scenario()) == [None, b"2", None]
    assert isinstance(cache, Cache) and cache.shared is False


def test_the_memory_cache_is_the_default(make_client, kernel_config):
    client = make_client(kernel_config())
    assert isinstance(client.app.state.ctx.cache, MemoryCache)


class OwnCache(MemoryCache):
    name = "own"


@pytest.mark.hooks("cache_backend")
def test_any_plugins_cache_backend_overrides_the_default(make_client, kernel_config):
    class OwnCachePlugin:
        @hookimpl
        def cache_backend(self, ctx: AppContext) -> OwnCache:
            return OwnCache()

    client = make_client(kernel_config(), plugins=[OwnCachePlugin()])
    assert type(client.app.state.ctx.cache) is OwnCache
    assert client.get("/readyz").json()["checks"]["cache:own"] == "ok"


def test_a_cache_backend_missing_the_protocol_stops_start_up(kernel_config):
    from starlette.testclient import TestClient

    from core.app import create_app
    from core.errors import ConfigError

    class NotACache:
        @hookimpl
        def cache_backend(self, ctx: AppContext) -> object:
            return object()

    with pytest.raises(ConfigError, match="does not satisfy core.cache.Cache"), TestClient(
        create_app(kernel_config(), plugins=[NotACache()])
    ):
        pass
