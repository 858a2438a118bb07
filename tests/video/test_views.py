"""View counts: a get by anyone but the owner counts once per viewer per video per window,
in memory until a flush adds it to the video's count; a failed flush keeps its counts; the
window is shared through the app's cache (Redis across apps), asked once a confirmation for
every view noted since the last, and a cache that does not answer counts nothing and fails
nothing."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid

import pytest
import redis
from starlette.testclient import TestClient

from core.app import create_app
from core.cache import MemoryCache
from core.cli import main
from plugins.video.config import VideoSettings, settings_problems
from plugins.video.tables import Video, VideoViewCount
from plugins.video.views import flusher
from plugins.video.views import queries as views_queries
from plugins.video.views.service import SEEN_PREFIX, ViewCounter, viewer_id, viewer_subject
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import command_config, insert_video, run_in_app, user, wait_until

ALICE, BOB, CAROL = user("alice"), user("bob"), user("carol")
ANONYMOUS = workflow.ANONYMOUS
# Flushed only when a test says so: the background flusher waits an hour.
BY_HAND = {"view_flush_seconds": 3600, "cache_ttl_seconds": 1}
PROXY = "192.0.2.10"


def _stand_ins() -> list[object]:
    return [StandInUserAuthPlugin(), StandInServiceAuthPlugin()]


def counter(client: TestClient) -> ViewCounter:
    views = client.app.state.ctx.state["video"].views
    assert views is not None
    return views


def confirmed(client: TestClient) -> dict[str, int]:
    """The counts waiting to be written, once the views noted so far are confirmed."""
    run_in_app(client, counter(client).confirm)
    return counter(client).pending


def pending(client: TestClient, video_id: uuid.UUID) -> int:
    return confirmed(client).get(str(video_id), 0)


def flush(client: TestClient) -> None:
    run_in_app(client, lambda: flusher.flush(counter(client)))


def stored_views(client: TestClient, video_id: uuid.UUID) -> int:
    row = run_in_app(client, lambda: VideoViewCount.select(VideoViewCount.views)
                     .where(VideoViewCount.video_id == video_id).first().run())
    return row["views"] if row else 0


def view(client: TestClient, who: workflow.Credentials, video_id: uuid.UUID,
         status: int = 200) -> dict:
    response = workflow.get_video(client, who, str(video_id))
    assert response.status_code == status, response.text
    return response.json()


def from_address(address: str) -> workflow.Credentials:
    """An anonymous caller behind the trusted proxy."""
    return workflow.Credentials(headers={"X-Forwarded-For": address})


@pytest.fixture
def behind_proxy(make_config, make_client):
    """A video app whose peer is a trusted proxy, so each caller names its own address."""
    config = make_config(["video"], plugins={"video": BY_HAND},
                         http={"trusted_proxies": [PROXY]})
    return make_client(config, plugins=_stand_ins(), client=(PROXY, 50000))


def test_a_viewer_counts_once_per_video(behind_proxy):
    client = behind_proxy
    video_id, other_id = insert_video(client), insert_video(client)
    for who in (BOB, BOB, CAROL, from_address("198.51.100.1"), from_address("198.51.100.1"),
                from_address("198.51.100.2")):
        view(client, who, video_id)
    view(client, BOB, other_id)
    assert pending(client, video_id) == 4  # bob, carol, and two addresses
    assert pending(client, other_id) == 1


def test_a_signed_in_viewer_and_an_address_are_distinct_viewers(behind_proxy):
    client = behind_proxy
    video_id = insert_video(client)
    view(client, from_address("198.51.100.1"), video_id)
    view(client, workflow.Credentials(headers={**BOB.headers,
                                               "X-Forwarded-For": "198.51.100.1"}), video_id)
    assert pending(client, video_id) == 2


def test_a_viewer_counts_again_after_the_window(make_video_client):
    client = make_video_client({**BY_HAND, "view_window_seconds": 0.3})
    video_id = insert_video(client)
    view(client, BOB, video_id)
    view(client, BOB, video_id)
    assert pending(client, video_id) == 1
    assert wait_until(lambda: view(client, BOB, video_id) and pending(client, video_id) == 2)


def test_the_owner_and_a_refused_get_count_nothing(make_video_client):
    client = make_video_client(BY_HAND)
    public_id = insert_video(client)
    private_id = insert_video(client, visibility="PRIVATE")
    view(client, ALICE, public_id)
    view(client, ALICE, private_id)
    view(client, BOB, private_id, status=404)
    view(client, BOB, uuid.uuid4(), status=404)
    assert counter(client).noted == []
    assert confirmed(client) == {}


def test_counts_reach_the_row_only_at_a_flush_then_the_response(make_video_client):
    client = make_video_client(BY_HAND)
    video_id = insert_video(client)
    for who in (BOB, CAROL, ANONYMOUS):
        view(client, who, video_id)
    assert stored_views(client, video_id) == 0
    assert view(client, ALICE, video_id)["view_count"] == 0
    flush(client)
    assert stored_views(client, video_id) == 3
    assert confirmed(client) == {}
    # the cached answer shows the new count once its TTL is over
    assert wait_until(lambda: view(client, ALICE, video_id)["view_count"] == 3)
    view(client, user("dave"), video_id)
    flush(client)
    assert stored_views(client, video_id) == 4


def test_the_background_flusher_writes_the_counts(make_video_client):
    client = make_video_client({"view_flush_seconds": 0.1})
    video_id = insert_video(client)
    view(client, BOB, video_id)
    assert wait_until(lambda: stored_views(client, video_id) == 1)


def test_the_flusher_confirms_noted_views_between_writes(make_video_client):
    client = make_video_client(BY_HAND)
    video_id = insert_video(client)
    view(client, BOB, video_id)
    assert wait_until(lambda: not counter(client).noted
                      and counter(client).pending == {str(video_id): 1})
    assert stored_views(client, video_id) == 0  # written at the next flush only


def test_a_deleted_videos_views_are_dropped(make_video_client):
    client = make_video_client(BY_HAND)
    counter(client).put_back({str(uuid.uuid4()): 3})
    flush(client)
    assert counter(client).pending == {}


def test_a_flush_adds_each_videos_own_count_to_its_row(make_video_client, monkeypatch):
    monkeypatch.setattr(views_queries, "VIDEOS_PER_STATEMENT", 2)  # several statements
    client = make_video_client(BY_HAND)
    videos = [insert_video(client) for _ in range(5)]
    counts = {str(video_id): index + 1 for index, video_id in enumerate(videos)}
    counter(client).put_back({**counts, str(uuid.uuid4()): 7})  # and one deleted since
    flush(client)
    assert [stored_views(client, video_id) for video_id in videos] == [1, 2, 3, 4, 5]
    counter(client).put_back({str(videos[0]): 10})
    flush(client)
    assert stored_views(client, videos[0]) == 11
    assert counter(client).pending == {}


def test_shutdown_flushes_what_is_left(make_config, make_client):
    config = make_config(["video"], plugins={"video": BY_HAND})
    with TestClient(create_app(config, plugins=_stand_ins())) as first:
        video_id = insert_video(first)
        view(first, BOB, video_id)
    second = make_client(config, plugins=_stand_ins())
    assert view(second, ALICE, video_id)["view_count"] == 1


def test_a_failed_flush_keeps_its_counts(make_video_client, caplog):
    client = make_video_client(BY_HAND)
    video_id = insert_video(client)
    view(client, BOB, video_id)
    engine = Video._meta.db

    def rename(old: str, new: str) -> None:
        run_in_app(client, lambda: engine.run_ddl(
            f"ALTER TABLE video_view_counts RENAME COLUMN {old} TO {new}"))

    rename("views", "views_away")  # the write now fails in the database
    with caplog.at_level(logging.WARNING, logger="itube.video.views"):
        flush(client)
    assert "video view counts not written" in caplog.text
    assert pending(client, video_id) == 1
    rename("views_away", "views")
    view(client, CAROL, video_id)
    flush(client)
    assert stored_views(client, video_id) == 2
    assert confirmed(client) == {}


def test_no_counting_when_switched_off(make_video_client):
    client = make_video_client({"count_views": False})
    video_id = insert_video(client)
    assert view(client, BOB, video_id)["view_count"] == 0
    assert client.app.state.ctx.state["video"].views is None


@pytest.fixture
def redis_video_app(make_config, make_client):
    def make(redis_url: str, prefix: str) -> TestClient:
        config = make_config(["cache_redis", "video"], plugins={
            "cache_redis": {"url": redis_url, "key_prefix": prefix},
            "video": BY_HAND,
        })
        return make_client(config, plugins=_stand_ins())

    return make


def test_apps_sharing_redis_count_a_viewer_once(redis_video_app, redis_url, redis_prefix):
    first = redis_video_app(redis_url, redis_prefix)
    # The tables now use the second app's database connections (one database a process
    # at a time): the first app is only asked what Redis holds, the video's answer too.
    second = redis_video_app(redis_url, redis_prefix)
    for app in (first, second):  # no confirmation but the test's own, in its order
        run_in_app(app, lambda app=app: flusher.stop(app.app.state.ctx))
    video_id = insert_video(second)
    view(second, BOB, video_id)
    view(first, BOB, video_id)
    view(first, CAROL, video_id)
    # The second app confirms first: bob is its viewer, carol the first app's.
    assert (pending(second, video_id), pending(first, video_id)) == (1, 1)
    flush(second)
    assert stored_views(second, video_id) == 1


def test_a_get_makes_no_cache_call_for_its_view(redis_video_app, redis_url, redis_prefix):
    client = redis_video_app(redis_url, redis_prefix)
    # No confirmation but the test's own from here.
    run_in_app(client, lambda: flusher.stop(client.app.state.ctx))
    video_ids = [insert_video(client) for _ in range(3)]
    for video_id in video_ids:
        view(client, BOB, video_id)
    store = redis.Redis.from_url(redis_url)
    seen = f"{redis_prefix}:*{SEEN_PREFIX}*"
    try:
        assert store.keys(seen) == []
        assert [pending(client, video_id) for video_id in video_ids] == [1, 1, 1]
        assert len(store.keys(seen)) == 3
    finally:
        store.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_down_a_get_succeeds_and_counts_nothing(redis_video_app):
    client = redis_video_app(f"redis://127.0.0.1:{_closed_port()}/0", "itube-views-down")
    video_id = insert_video(client)
    view(client, BOB, video_id)
    assert confirmed(client) == {}


def test_a_viewer_noted_while_redis_was_down_counts_once_it_is_back(redis_video_app,
                                                                    redis_server):
    client = redis_video_app(redis_server.url, "itube-views-outage")
    run_in_app(client, lambda: flusher.stop(client.app.state.ctx))
    video_id = insert_video(client)
    redis_server.kill()
    view(client, BOB, video_id)
    assert confirmed(client) == {}
    redis_server.start()
    assert wait_until(lambda: view(client, BOB, video_id) and pending(client, video_id) == 1)


@pytest.mark.parametrize("key", ["view_window_seconds", "view_flush_seconds"])
def test_view_intervals_must_be_positive(key):
    settings = VideoSettings(**{key: 0})
    assert f"plugins.video.{key}: must be positive" in settings_problems(settings)


def test_a_full_memo_forgets_its_oldest_viewer_first(monkeypatch):
    monkeypatch.setattr("plugins.video.views.service.MEMO_MAX_ENTRIES", 3)
    views = ViewCounter(MemoryCache(), window_seconds=3600)
    for video in ("v1", "v2", "v3", "v4"):
        views.saw(video, "owner", None, _an_address)
    views.noted.clear()
    for video in ("v2", "v3", "v4", "v1"):  # the newest three are known; v1 was forgotten
        views.saw(video, "owner", None, _an_address)
    assert [video for video, _ in views.noted] == ["v1"]


def test_with_a_per_process_cache_the_memo_decides_and_the_cache_keeps_no_viewer():
    """The in-process cache holds cached answers: a viewer recorded there would evict one,
    and record again what this process's memo already knows."""
    cache = MemoryCache()
    views = ViewCounter(cache, window_seconds=3600)
    for video in ("v1", "v1", "v2"):
        views.saw(video, "owner", None, _an_address)
    asyncio.run(views.confirm())
    assert views.pending == {"v1": 1, "v2": 1}
    viewer = viewer_id(viewer_subject(None, _an_address))
    assert [asyncio.run(cache.get(f"{SEEN_PREFIX}{video}:{viewer}"))
            for video in ("v1", "v2")] == [None, None]


def _an_address() -> str:
    return "198.51.100.7"


def test_a_deleted_video_takes_its_count_with_it(make_video_client):
    client = make_video_client(BY_HAND)
    video_id = insert_video(client)
    view(client, BOB, video_id)
    flush(client)
    assert stored_views(client, video_id) == 1
    assert workflow.delete_video(client, ALICE, str(video_id)).status_code == 204
    assert run_in_app(client, lambda: VideoViewCount.count()
                      .where(VideoViewCount.video_id == video_id).run()) == 0


def test_the_counts_move_with_their_migration_both_ways(make_config, make_client, db_url,
                                                         moto_endpoint, tmp_path):
    """Backwards, the counts return to `videos.view_count`; forwards again, to their table."""
    client = make_client(make_config(["video"], plugins={"video": BY_HAND}),
                         plugins=_stand_ins())
    video_id, unviewed_id = insert_video(client), insert_video(client)
    for who in (BOB, CAROL):
        view(client, who, video_id)
    flush(client)
    path = command_config(tmp_path / "migrate.toml", db_url, moto_endpoint)
    assert main(["migrate", "--config", str(path), "backwards", "--app", "video"]) == 0
    reader = make_client(make_config(["video"], database={"migrate_on_start": False}),
                         plugins=_stand_ins())
    rows = run_in_app(reader, lambda: Video.raw(
        "SELECT id, view_count FROM videos ORDER BY view_count DESC").run())
    assert [(str(row["id"]), row["view_count"]) for row in rows] == [
        (str(video_id), 2), (str(unviewed_id), 0)]
    assert main(["migrate", "--config", str(path)]) == 0
    assert stored_views(reader, video_id) == 2
    assert run_in_app(reader, lambda: VideoViewCount.count().run()) == 1
