"""The live stream across processes: two real uvicorn processes on one database and one
Redis (`cache_redis` provides the broker). The stream is open on one process and every
change is made through the other: two processes with their own ports guarantee that the
request and the stream never share a process, so the event can only reach the stream
through Redis pub/sub. The per-user cap is counted across both, and a client that hangs
up frees its slot."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests.support.server import UvicornProcess, shared_state_config, two_processes
from tests.video import workflow
from tests.video.sse import EVENTS_PATH, StreamReader
from tests.video.support import TRANSCODER, user, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis]

ALICE, BOB = user("alice"), user("bob")


# Events dispatched quickly, heartbeats often, two streams a user.
LIVE_SETTINGS = """
[events]
dispatch_interval_seconds = 0.2

[plugins.video]
live_heartbeat_seconds = 0.5
live_max_streams_per_user = 2
"""


@pytest.fixture
def two_servers(tmp_path, db_url, moto_endpoint, redis_url, redis_prefix
                ) -> Iterator[tuple[UvicornProcess, UvicornProcess]]:
    config = tmp_path / "itube.toml"
    config.write_text(shared_state_config(
        database=db_url, moto=moto_endpoint, redis_url=redis_url, prefix=redis_prefix,
        extra=LIVE_SETTINGS), encoding="utf-8")
    with two_processes(config, tmp_path) as servers:
        yield servers


@contextlib.contextmanager
def stream(http: httpx.Client, who, headers: dict[str, str] | None = None
           ) -> Iterator[StreamReader]:
    with http.stream("GET", EVENTS_PATH, **who.request_options(headers)) as response:
        assert response.status_code == 200, response.read()
        reader = StreamReader(response.iter_lines())
        reader.wait_open()
        yield reader


def test_a_change_through_one_process_reaches_a_stream_on_the_other(two_servers):
    first, second = two_servers
    assert first.process.pid != second.process.pid
    with httpx.Client(base_url=first.url, timeout=10) as a, \
            httpx.Client(base_url=second.url, timeout=10) as b:
        with stream(b, ALICE) as on_b:
            bobs = workflow.register(a, BOB, workflow.upload(a, BOB)).json()
            video = workflow.register(a, ALICE, workflow.upload(a, ALICE)).json()
            assert workflow.set_status(a, TRANSCODER, bobs["id"],
                                       "COMPLETED").status_code == 200
            assert workflow.set_status(a, TRANSCODER, video["id"],
                                       "COMPLETED").status_code == 200
            events = on_b.events_until(lambda m: m.event == "video.status_changed")
        assert [m.event for m in events] == ["video.created", "video.status_changed"]
        assert {m.json()["subject"] for m in events} == {video["id"]}
        assert events[-1].json()["data"]["to"] == "COMPLETED"
        # resumed on the other process, from the outbox: the same events, the same ids
        with stream(a, ALICE, {"Last-Event-ID": "0"}) as on_a:
            replayed = on_a.events_until(lambda m: m.event == "video.status_changed")
        assert [(m.id, m.data) for m in replayed] == [(m.id, m.data) for m in events]


def test_the_cap_counts_streams_on_every_process_and_a_hang_up_frees_a_slot(
        two_servers, redis_url, redis_prefix):
    first, second = two_servers
    with httpx.Client(base_url=first.url, timeout=10) as a, \
            httpx.Client(base_url=second.url, timeout=10) as b:
        with stream(a, ALICE), stream(b, ALICE):
            refused = b.get(EVENTS_PATH, **ALICE.request_options())
            assert refused.status_code == 429 and refused.headers["retry-after"]
            assert a.get(EVENTS_PATH, **ALICE.request_options()).status_code == 429
        # both clients hung up: each process notices and frees its slot in Redis at once,
        # well before a slot would expire (6.5 s)
        raw = redis.Redis.from_url(redis_url)
        try:
            assert wait_until(lambda: not raw.keys(f"{redis_prefix}:v1:live-streams:*"),
                              timeout=3)
        finally:
            raw.close()
        with stream(a, ALICE), stream(b, ALICE):
            pass
