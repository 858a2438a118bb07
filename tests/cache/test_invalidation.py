"""`cache_invalidate` when the store fails: never an error, and with Redis the tombstone
is written once Redis answers again, so a change made during an outage holds back loads
that read the old state. The video list's generation survives the same outage."""

from __future__ import annotations

import time

import pytest

from core.cache import SingleFlight, cache_delete, cache_invalidate, get_or_load, is_tombstone
from plugins.cache_redis.backend import RedisCache
from tests.cache.test_faults import BREAKER_SECONDS, redis_settings
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import TRANSCODER, user
from tests.video.test_cache import UnavailableCache

ALICE = user("alice")
ANYONE = workflow.ANONYMOUS


@pytest.mark.anyio
async def test_an_unavailable_cache_invalidates_without_error_and_loads_from_the_source():
    cache = UnavailableCache()
    await cache_invalidate(cache, "video:1", "video:2")
    assert cache.calls == 4  # a tombstone, then a delete, for each key

    async def load() -> bytes:
        return b'{"id": 1}'

    assert await get_or_load(cache, SingleFlight(), "video:1", load, 30) == b'{"id": 1}'


@pytest.mark.anyio
async def test_a_tombstone_redis_missed_is_written_once_it_answers(redis_server):
    backend = RedisCache(redis_settings(redis_server.url))
    await backend.open()
    try:
        await backend.set("video:1", b'{"status": "old"}', 30)
        redis_server.kill()
        await cache_invalidate(backend, "video:1")  # the change committed during the outage
        redis_server.start()
        time.sleep(BREAKER_SECONDS)
        # The first call that reaches Redis writes the tombstone before anything else, so
        # a load that read the old state cannot store it and the old entry is gone.
        assert await backend.add("video:1", b'{"status": "old"}', 30) is False
        assert is_tombstone(await backend.get("video:1"))
        assert 0 < await backend.ttl("video:1") <= 5
    finally:
        await backend.close()


@pytest.mark.anyio
async def test_a_later_delete_does_not_replace_an_unsent_tombstone(redis_server):
    backend = RedisCache(redis_settings(redis_server.url))
    await backend.open()
    try:
        redis_server.kill()
        await cache_invalidate(backend, "video:2")
        await cache_delete(backend, "video:2", "video:3")
        redis_server.start()
        time.sleep(BREAKER_SECONDS)
        assert await backend.add("video:2", b"old", 30) is False
        assert await backend.add("video:3", b"new", 30) is True
    finally:
        await backend.close()


@pytest.fixture
def video_app(make_config, make_client):
    def make(redis_url: str):
        cache = {"url": redis_url, "key_prefix": "itube-video",
                 "breaker_open_seconds": BREAKER_SECONDS}
        config = make_config(["cache_redis", "video"], plugins={"cache_redis": cache})
        return make_client(config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])

    return make


def public_ids(client) -> list[str]:
    return [video["id"] for video in workflow.list_public(client, ANYONE).json()]


def test_a_list_change_while_redis_stalls_is_not_served_stale_afterwards(
    video_app, redis_server
):
    client = video_app(redis_server.url)
    video_id = workflow.run_workflow(client, ALICE, TRANSCODER)["id"]
    assert public_ids(client) == [video_id]  # the first page is cached with the video

    raw = redis_server.client()
    raw.execute_command("CLIENT", "PAUSE", 700, "ALL")
    changed = workflow.set_status(client, TRANSCODER, video_id, "IN_PROGRESS")
    assert changed.status_code == 200  # its invalidation could not reach Redis
    time.sleep(0.8 + BREAKER_SECONDS)
    # The first call that reaches Redis again drops the generation first.
    assert public_ids(client) == []
    assert public_ids(client) == []
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
