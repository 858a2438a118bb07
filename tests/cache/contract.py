"""The cache contract: what every `core.cache.Cache` backend must do.

A backend's tests subclass `CacheContract` and provide an async `cache` fixture yielding a
ready backend whose keys no other test sees (the style of Kinto's cache `testing.py`).
"""

from __future__ import annotations

import asyncio

import anyio
import pytest

from core.cache import Cache, SingleFlight, cache_invalidate, get_or_load, is_tombstone

# Expiry is checked against the backend's own clock: keep TTLs short and sleep past them.
SHORT_TTL = 0.05
PAST_SHORT_TTL = 0.2


class CacheContract:
    @pytest.fixture
    async def cache(self) -> Cache:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    async def test_satisfies_the_protocol(self, cache):
        assert isinstance(cache, Cache)
        assert isinstance(cache.name, str) and cache.name
        assert isinstance(cache.shared, bool)

    async def test_get_of_an_unknown_key_is_none(self, cache):
        assert await cache.get("unknown") is None

    async def test_set_then_get_returns_the_same_bytes(self, cache):
        value = bytes(range(256))  # not UTF-8: values are opaque bytes
        await cache.set("blob", value, 30)
        assert await cache.get("blob") == value

    async def test_set_overwrites(self, cache):
        await cache.set("key", b"first", 30)
        await cache.set("key", b"second", 30)
        assert await cache.get("key") == b"second"

    async def test_keys_are_independent(self, cache):
        await cache.set("one", b"1", 30)
        await cache.set("two", b"2", 30)
        assert (await cache.get("one"), await cache.get("two")) == (b"1", b"2")

    async def test_set_with_ttl_expires_the_value(self, cache):
        await cache.set("short", b"x", SHORT_TTL)
        await cache.set("long", b"y", 30)
        await anyio.sleep(PAST_SHORT_TTL)
        assert await cache.get("short") is None
        assert await cache.get("long") == b"y"

    async def test_ttl_returns_the_time_to_live(self, cache):
        await cache.set("key", b"x", 10)
        remaining = await cache.ttl("key")
        assert remaining is not None and 0 < remaining <= 10

    async def test_ttl_of_an_unknown_or_expired_key_is_none(self, cache):
        assert await cache.ttl("unknown") is None
        await cache.set("short", b"x", SHORT_TTL)
        await anyio.sleep(PAST_SHORT_TTL)
        assert await cache.ttl("short") is None

    async def test_delete_removes_the_value(self, cache):
        await cache.set("key", b"x", 30)
        await cache.delete("key")
        assert await cache.get("key") is None
        assert await cache.ttl("key") is None

    async def test_delete_removes_several_keys_and_ignores_unknown_ones(self, cache):
        await cache.set("a", b"1", 30)
        await cache.set("b", b"2", 30)
        await cache.set("c", b"3", 30)
        await cache.delete("a", "b", "never-set")
        await cache.delete()
        assert [await cache.get(k) for k in ("a", "b", "c")] == [None, None, b"3"]

    async def test_add_sets_only_when_absent(self, cache):
        assert await cache.add("once", b"first", 30) is True
        assert await cache.add("once", b"second", 30) is False
        assert await cache.get("once") == b"first"

    async def test_add_succeeds_again_once_the_key_expired(self, cache):
        assert await cache.add("once", b"x", SHORT_TTL) is True
        await anyio.sleep(PAST_SHORT_TTL)
        assert await cache.add("once", b"y", 30) is True

    async def test_concurrent_adds_have_one_winner(self, cache):
        results = await asyncio.gather(*(cache.add("race", b"x", 30) for _ in range(20)))
        assert results.count(True) == 1

    async def test_claim_takes_each_absent_key_once(self, cache):
        await cache.add("held", b"x", 30)
        assert await cache.claim(["a", "held", "b", "a"], 30) == [True, False, True, False]
        assert await cache.claim(["a", "b", "c"], 30) == [False, False, True]
        assert await cache.claim([], 30) == []

    async def test_a_claim_lasts_its_ttl(self, cache):
        assert await cache.claim(["window"], SHORT_TTL) == [True]
        assert await cache.claim(["window"], 30) == [False]
        await anyio.sleep(PAST_SHORT_TTL)
        assert await cache.claim(["window"], 30) == [True]

    async def test_concurrent_claims_have_one_winner_a_key(self, cache):
        results = await asyncio.gather(*(cache.claim(["x", "y"], 30) for _ in range(10)))
        assert [taken[0] for taken in results].count(True) == 1
        assert [taken[1] for taken in results].count(True) == 1

    async def test_incr_counts_from_one(self, cache):
        assert [await cache.incr("hits", 30) for _ in range(3)] == [1, 2, 3]
        assert await cache.incr("other", 30) == 1

    async def test_incr_expires_from_the_first_increment(self, cache):
        await cache.incr("window", 10)
        first = await cache.ttl("window")
        await anyio.sleep(0.05)
        await cache.incr("window", 10)
        later = await cache.ttl("window")
        assert first is not None and later is not None
        assert 0 < later < first <= 10  # the second increment did not extend the window

    async def test_incr_restarts_after_the_window(self, cache):
        await cache.incr("window", SHORT_TTL)
        await cache.incr("window", SHORT_TTL)
        await anyio.sleep(PAST_SHORT_TTL)
        assert await cache.incr("window", 30) == 1

    async def test_concurrent_incrs_are_not_lost(self, cache):
        results = await asyncio.gather(*(cache.incr("busy", 30) for _ in range(25)))
        assert sorted(results) == list(range(1, 26))

    async def test_ping_answers(self, cache):
        assert await cache.ping() is None

    async def test_get_or_load_loads_once_then_serves_the_cache(self, cache):
        calls = []

        async def load() -> bytes:
            calls.append(1)
            return b'{"id": 1}'

        flight = SingleFlight()
        first = await get_or_load(cache, flight, "video:1", load, 30)
        second = await get_or_load(cache, flight, "video:1", load, 30)
        assert first == second == b'{"id": 1}'
        assert len(calls) == 1
        assert await cache.get("video:1") == b'{"id": 1}'

    async def test_get_or_load_does_not_cache_a_missing_value(self, cache):
        async def load() -> None:
            return None

        assert await get_or_load(cache, SingleFlight(), "video:gone", load, 30) is None
        assert await cache.get("video:gone") is None

    async def test_a_stampede_on_a_cold_key_loads_once(self, cache):
        calls = []
        release = asyncio.Event()
        watched = CountsGets(cache)

        async def load() -> bytes:
            calls.append(1)
            await release.wait()  # every other request arrives while this one loads
            return b"payload"

        flight = SingleFlight()
        stampede = [
            asyncio.create_task(get_or_load(watched, flight, "cold", load, 30))
            for _ in range(50)
        ]
        with anyio.fail_after(10):
            while watched.gets < 50:  # every request missed and is now in the single-flight
                await asyncio.sleep(0.001)
        release.set()
        assert await asyncio.gather(*stampede) == [b"payload"] * 50
        assert len(calls) == 1
        assert await cache.get("cold") == b"payload"

    # -- invalidation racing a load (core.cache.cache_invalidate) ----------------------------

    async def test_a_load_that_read_before_an_invalidation_cannot_store_afterwards(self, cache):
        started, release = asyncio.Event(), asyncio.Event()

        async def load_old() -> bytes:
            started.set()
            await release.wait()  # the change commits and invalidates meanwhile
            return b'{"status": "old"}'

        async def load_new() -> bytes:
            return b'{"status": "new"}'

        flight = SingleFlight()
        late = asyncio.create_task(get_or_load(cache, flight, "video:7", load_old, 30))
        with anyio.fail_after(10):
            await started.wait()
        await cache_invalidate(cache, "video:7")
        release.set()
        assert await late == b'{"status": "old"}'  # its own caller started before the change
        assert is_tombstone(await cache.get("video:7"))
        assert await get_or_load(cache, flight, "video:7", load_new, 30) == b'{"status": "new"}'

    async def test_a_tombstone_reads_as_a_miss_and_is_not_replaced_until_it_expires(self, cache):
        loads = []

        async def load() -> bytes:
            loads.append(1)
            return b'{"fresh": true}'

        flight = SingleFlight()
        await cache.set("video:8", b'{"fresh": false}', 30)
        await cache_invalidate(cache, "video:8", hold=SHORT_TTL)
        assert await get_or_load(cache, flight, "video:8", load, 30) == b'{"fresh": true}'
        assert await get_or_load(cache, flight, "video:8", load, 30) == b'{"fresh": true}'
        assert len(loads) == 2  # held: every read goes to the source
        await anyio.sleep(PAST_SHORT_TTL)
        assert await get_or_load(cache, flight, "video:8", load, 30) == b'{"fresh": true}'
        assert await cache.get("video:8") == b'{"fresh": true}'

    async def test_a_read_after_an_invalidation_does_not_wait_for_an_older_load(self, cache):
        started, release = asyncio.Event(), asyncio.Event()

        async def load_old() -> bytes:
            started.set()
            await release.wait()
            return b'"old"'

        async def load_new() -> bytes:
            return b'"new"'

        flight = SingleFlight()
        older = asyncio.create_task(get_or_load(cache, flight, "video:9", load_old, 30))
        with anyio.fail_after(10):
            await started.wait()
            await cache_invalidate(cache, "video:9")
            # Same process, same key: still not joined to the load that read the old state.
            assert await get_or_load(cache, flight, "video:9", load_new, 30) == b'"new"'
        release.set()
        assert await older == b'"old"'
        assert await get_or_load(cache, flight, "video:9", load_new, 30) == b'"new"'

    async def test_invalidate_drops_several_keys(self, cache):
        for key in ("a", "b", "c"):
            await cache.set(key, b"1", 30)
        await cache_invalidate(cache, "a", "b")
        assert [is_tombstone(await cache.get(key)) for key in "abc"] == [True, True, False]


class CountsGets:
    """Delegates to a cache, counting the `get` calls that have returned."""

    def __init__(self, cache: Cache):
        self.inner = cache
        self.gets = 0

    async def get(self, key: str) -> bytes | None:
        value = await self.inner.get(key)
        self.gets += 1
        return value

    def __getattr__(self, name: str):
        return getattr(self.inner, name)
