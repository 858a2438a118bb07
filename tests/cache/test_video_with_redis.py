"""The video plugin with `cache_redis`: the whole workflow, and its reads while Redis dies,
stalls and comes back (a Redis server of the test's own, killed and restarted)."""

from __future__ import annotations

import time

import pytest

from core.cache import is_tombstone
from plugins.video.service import video_cache_key
from tests.cache.test_faults import BREAKER_SECONDS, wait_until
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import TRANSCODER, user

ALICE = user("alice")
ANYONE = workflow.ANONYMOUS
# Short, so a test can wait out a change's tombstone and see the cache filled again.
HOLD_SECONDS = 0.2


@pytest.fixture
def video_app(make_config, make_client):
    def make(redis_url: str, prefix: str):
        cache = {"url": redis_url, "key_prefix": prefix, "breaker_open_seconds": BREAKER_SECONDS}
        # No view counting: its flusher's calls to Redis, made in the background, would
        # send a failed invalidation before a test looks at what Redis holds meanwhile.
        video = {"cache_invalidation_hold_seconds": HOLD_SECONDS, "count_views": False}
        config = make_config(["cache_redis", "video"],
                             plugins={"cache_redis": cache, "video": video})
        return make_client(config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])

    return make


def is_cached(value: bytes | None) -> bool:
    return value is not None and not is_tombstone(value)


def read_warm(client, raw, key: str, video_id: str) -> None:
    """Wait out the last change's tombstone, read the video, and see it cached in Redis."""
    time.sleep(HOLD_SECONDS * 1.5)
    workflow.get_video(client, ANYONE, video_id)
    assert is_cached(raw.get(key))


def stored_key(prefix: str, video_id: str) -> str:
    import uuid

    return f"{prefix}:v1:{video_cache_key(uuid.UUID(video_id))}"


def test_the_video_workflow_passes_with_redis(video_app, redis_url, redis_prefix):
    import redis

    client = video_app(redis_url, redis_prefix)
    seen = workflow.run_workflow(client, ALICE, TRANSCODER)
    raw = redis.Redis.from_url(redis_url)
    try:
        read_warm(client, raw, stored_key(redis_prefix, seen["id"]), seen["id"])
        # A status change is visible at once: the cached entry was dropped.
        workflow.set_status(client, TRANSCODER, seen["id"], "IN_PROGRESS")
        assert workflow.get_video(client, ANYONE, seen["id"]).status_code == 404
        assert seen["id"] not in [v["id"] for v in workflow.list_public(client, ANYONE).json()]
    finally:
        raw.close()


def test_video_reads_survive_redis_dying_and_coming_back(video_app, redis_server):
    client = video_app(redis_server.url, "itube-video")
    video_id = workflow.run_workflow(client, ALICE, TRANSCODER)["id"]
    key = stored_key("itube-video", video_id)
    read_warm(client, redis_server.client(), key, video_id)

    redis_server.kill()
    for _ in range(5):
        opened = workflow.get_video(client, ANYONE, video_id)
        assert opened.status_code == 200 and opened.json()["id"] == video_id
        listed = workflow.list_public(client, ANYONE)
        assert listed.status_code == 200 and video_id in [v["id"] for v in listed.json()]
    ready = client.get("/readyz").json()
    assert ready["status"] == "degraded" and ready["checks"]["cache:redis"].startswith("failing")
    # Changes still work, and are seen at once (nothing is cached per process meanwhile).
    assert workflow.set_status(client, TRANSCODER, video_id, "IN_PROGRESS").status_code == 200
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
    assert workflow.set_status(client, TRANSCODER, video_id, "COMPLETED").status_code == 200

    redis_server.start()
    raw = redis_server.client()
    assert wait_until(lambda: workflow.get_video(client, ANYONE, video_id).status_code == 200
                      and is_cached(raw.get(key)))
    assert client.get("/readyz").json()["status"] == "ok"


def test_a_change_while_redis_stalls_is_not_served_stale_afterwards(video_app, redis_server):
    client = video_app(redis_server.url, "itube-video")
    video_id = workflow.run_workflow(client, ALICE, TRANSCODER)["id"]
    raw = redis_server.client()
    key = stored_key("itube-video", video_id)
    read_warm(client, raw, key, video_id)  # cached as COMPLETED

    raw.execute_command("CLIENT", "PAUSE", 700, "ALL")
    changed = workflow.set_status(client, TRANSCODER, video_id, "IN_PROGRESS")
    assert changed.status_code == 200  # its invalidation could not reach Redis
    time.sleep(0.8)
    assert is_cached(raw.get(key))  # the old entry is still in Redis ...
    time.sleep(BREAKER_SECONDS)
    # ... but the first call that reaches Redis again sends the invalidation first.
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
