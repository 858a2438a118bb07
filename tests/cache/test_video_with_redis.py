"""The video plugin with `cache_redis`: the whole workflow, and its reads while Redis dies,
stalls and comes back (a Redis server of the test's own, killed and restarted)."""

from __future__ import annotations

import time

import pytest

from plugins.video.service import video_cache_key
from tests.cache.test_faults import BREAKER_SECONDS, wait_until
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import TRANSCODER, user

ALICE = user("alice")
ANYONE = workflow.ANONYMOUS


@pytest.fixture
def video_app(make_config, make_client):
    def make(redis_url: str, prefix: str):
        cache = {"url": redis_url, "key_prefix": prefix, "breaker_open_seconds": BREAKER_SECONDS}
        config = make_config(["cache_redis", "video"], plugins={"cache_redis": cache})
        return make_client(config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])

    return make


def stored_key(prefix: str, video_id: str) -> str:
    import uuid

    return f"{prefix}:v1:{video_cache_key(uuid.UUID(video_id))}"


def test_the_video_workflow_passes_with_redis(video_app, redis_url, redis_prefix):
    import redis

    client = video_app(redis_url, redis_prefix)
    seen = workflow.run_workflow(client, ALICE, TRANSCODER)
    raw = redis.Redis.from_url(redis_url)
    try:
        assert raw.get(stored_key(redis_prefix, seen["id"])) is not None
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
    assert redis_server.client().get(key) is not None

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
                      and raw.get(key) is not None)
    assert client.get("/readyz").json()["status"] == "ok"


def test_a_change_while_redis_stalls_is_not_served_stale_afterwards(video_app, redis_server):
    client = video_app(redis_server.url, "itube-video")
    video_id = workflow.run_workflow(client, ALICE, TRANSCODER)["id"]
    raw = redis_server.client()
    key = stored_key("itube-video", video_id)
    assert raw.get(key) is not None  # cached as COMPLETED

    raw.execute_command("CLIENT", "PAUSE", 700, "ALL")
    changed = workflow.set_status(client, TRANSCODER, video_id, "IN_PROGRESS")
    assert changed.status_code == 200  # its invalidation could not reach Redis
    time.sleep(0.8)
    assert raw.get(key) is not None  # the old entry is still in Redis ...
    time.sleep(BREAKER_SECONDS)
    # ... but the first call that reaches Redis again sends the invalidation first.
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
