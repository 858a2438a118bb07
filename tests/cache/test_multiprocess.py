"""Two real uvicorn processes sharing PostgreSQL and Redis: a status change made through
one is seen by a read through the other at once (the cache entry is dropped in Redis,
which both use). Prints how long the other process took to see each change."""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from core.cache import is_tombstone
from plugins.video.service import video_cache_key
from tests.support.server import UvicornProcess, shared_state_config, two_processes
from tests.video import workflow
from tests.video.support import TRANSCODER, user

pytestmark = pytest.mark.slow

CHANGES = 20
# Short, so the test can wait out each change's tombstone and read from a warm cache again.
HOLD_SECONDS = 0.2


def is_cached(value: bytes | None) -> bool:
    return value is not None and not is_tombstone(value)


@pytest.fixture
def two_servers(tmp_path, postgres_url, moto_endpoint, redis_url, redis_prefix
                ) -> Iterator[tuple[UvicornProcess, UvicornProcess]]:
    config = tmp_path / "itube.toml"
    config.write_text(shared_state_config(
        database=postgres_url, moto=moto_endpoint, redis_url=redis_url, prefix=redis_prefix,
        extra=f"[plugins.video]\ncache_invalidation_hold_seconds = {HOLD_SECONDS}\n"),
        encoding="utf-8")
    with two_processes(config, tmp_path) as servers:
        yield servers


def test_a_change_through_one_process_is_seen_by_the_other(two_servers, redis_url,
                                                           redis_prefix):
    first, second = two_servers
    raw = redis.Redis.from_url(redis_url)
    with httpx.Client(base_url=first.url, timeout=10) as a, \
            httpx.Client(base_url=second.url, timeout=10) as b:
        video_id = workflow.run_workflow(a, user("alice"), TRANSCODER)["id"]
        key = f"{redis_prefix}:v1:{video_cache_key(uuid.UUID(video_id))}"
        assert workflow.get_video(b, workflow.ANONYMOUS, video_id).status_code == 200
        delays, reads = [], []
        status = "COMPLETED"
        for _ in range(CHANGES):
            time.sleep(HOLD_SECONDS * 1.5)  # the last change's tombstone has expired
            assert workflow.get_video(b, workflow.ANONYMOUS, video_id).status_code == (
                200 if status == "COMPLETED" else 404)
            assert is_cached(raw.get(key))  # the second process cached it in Redis
            status = "IN_PROGRESS" if status == "COMPLETED" else "COMPLETED"
            changed = workflow.set_status(a, TRANSCODER, video_id, status)
            assert changed.status_code == 200
            started, attempts = time.perf_counter(), 0
            expected = 200 if status == "COMPLETED" else 404
            while True:
                attempts += 1
                seen = workflow.get_video(b, workflow.ANONYMOUS, video_id)
                if seen.status_code == expected:
                    break
                assert attempts < 100, "the other process never saw the change"
            delays.append(time.perf_counter() - started)
            reads.append(attempts)
    raw.close()
    print(f"\n{CHANGES} status changes through one process, read through the other: "
          f"seen on the first read {reads.count(1)}/{CHANGES} times; time to see it: "
          f"median {statistics.median(delays) * 1000:.1f} ms, "
          f"max {max(delays) * 1000:.1f} ms (one HTTP read)")
    assert reads == [1] * CHANGES  # at once: the first read after the change sees it
