"""The manifest routes: a private HLS video played through playlists rewritten for the
caller, every segment presigned and fetched from the emulator over real HTTP."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin

import httpx
import orjson
import pytest

from core.cache import is_tombstone
from plugins.video.playback.routes import STATE_KEY
from plugins.video.playback.service import RewrittenPlaylists
from plugins.video.service import video_cache_key
from plugins.video.transcoder import FIXTURE_LADDER
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.playback.support import (
    ALICE,
    BOB,
    MANIFEST,
    PROCESSED,
    completed_with_ladder,
    registered,
)
from tests.video.shares.support import queries_made
from tests.video.support import hold_presigner_clock, run_in_app, wait_until
from tests.video.transcoding import report

TTL = 300
SETTINGS = {"playback_url_ttl_seconds": TTL, "media_url_window_seconds": 60}
BASE = "http://testserver"
REQUESTS_TOGETHER = 12


def _get(client: Any, path: str, viewer: Any = ALICE) -> httpx.Response:
    return client.get(path, **viewer.request_options())


def _uris(playlist: str) -> list[str]:
    """Every URI a playlist names: URI lines and URI attributes."""
    lines = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    return lines + re.findall(r'URI="([^"]*)"', playlist)


def _play(client: Any, video_id: str, viewer: Any = ALICE) -> dict[str, bytes]:
    """Follow the master playlist to every segment, as a player does: {segment: bytes}."""
    master_url = BASE + MANIFEST.format(video_id)
    master = _get(client, master_url, viewer)
    assert master.status_code == 200, master.text
    fetched = {}
    for variant in _uris(master.text):
        playlist_url = urljoin(master_url, variant)
        media = _get(client, playlist_url, viewer)
        assert media.status_code == 200, media.text
        assert media.headers["content-type"] == "application/vnd.apple.mpegurl"
        for segment in _uris(media.text):
            assert "X-Amz-Signature=" in segment, segment
            got = httpx.get(segment, timeout=10)  # the emulator, over HTTP
            assert got.status_code == 200, segment
            fetched[segment.split("?")[0].rsplit("/hls/", 1)[1]] = got.content
    return fetched


@pytest.fixture
def client(make_video_client):
    return make_video_client(SETTINGS)


def test_a_private_video_plays_through_the_rewritten_playlists(client, s3):
    video_id, _ = completed_with_ladder(client, s3)
    master = _get(client, MANIFEST.format(video_id))
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    cache_control = master.headers["cache-control"]
    assert cache_control.startswith("private, max-age=")
    assert TTL - 5 <= int(cache_control.split("=")[1]) <= TTL
    assert _uris(master.text) == ["playback/hls/v0/index.m3u8", "playback/hls/v1/index.m3u8"]
    fetched = _play(client, video_id)
    expected = {path.relative_to(FIXTURE_LADDER).as_posix(): path.read_bytes()
                for path in FIXTURE_LADDER.rglob("*.ts")}
    assert fetched == expected


def test_access_is_the_rule_of_get_by_id(client, s3):
    private, _ = completed_with_ladder(client, s3, visibility="PRIVATE")
    unlisted, _ = completed_with_ladder(client, s3, visibility="UNLISTED")
    unknown = str(uuid.uuid4())
    assert _play(client, private, ALICE)
    assert _play(client, unlisted, workflow.ANONYMOUS)
    not_found = _get(client, MANIFEST.format(unknown), BOB).json()
    for viewer in (BOB, workflow.ANONYMOUS):
        for path in (MANIFEST.format(private),
                     f"/api/v1/upload/videos/{private}/playback/hls/v0/index.m3u8"):
            answer = _get(client, path, viewer)
            assert answer.status_code == 404
            assert answer.headers["content-type"] == "application/problem+json"
            body = answer.json()
            assert body["detail"].replace(private, unknown) == not_found["detail"]
            assert {k: body[k] for k in ("type", "title", "status")} == \
                {k: not_found[k] for k in ("type", "title", "status")}


def test_the_owner_of_an_unfinished_video_gets_no_playlist(client):
    video_id, _ = registered(client)
    answer = _get(client, MANIFEST.format(video_id))
    assert answer.status_code == 404


def test_a_video_without_an_hls_output_has_no_manifest(client):
    video_id, key = registered(client)
    assert report(client, video_id, {"status": "COMPLETED", "outputs": [
        {"kind": "mp4", "key": f"{key}/a.mp4"}]}).status_code == 200
    assert _get(client, MANIFEST.format(video_id)).status_code == 404


@pytest.mark.parametrize("path", ["..%2F..%2Fother.m3u8", "hls/v0/segment_000.ts",
                                  "hls/%2E%2E/%2E%2E/x.m3u8", "hls//index.m3u8"])
def test_only_playlists_under_the_video_are_served(client, s3, path):
    video_id, _ = completed_with_ladder(client, s3)
    answer = _get(client, f"/api/v1/upload/videos/{video_id}/playback/{path}")
    assert answer.status_code == 422, answer.text
    assert [error["field"] for error in answer.json()["errors"]] == ["path"]


def test_a_missing_playlist_is_a_404_problem(client, s3):
    video_id, _ = completed_with_ladder(client, s3)
    answer = _get(client, f"/api/v1/upload/videos/{video_id}/playback/hls/v9/index.m3u8")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_stored_playlist_reaching_outside_the_video_is_refused(client, s3):
    video_id, key = completed_with_ladder(client, s3)
    s3.put_object(Bucket=PROCESSED, Key=f"{key}/hls/v0/index.m3u8",
                  Body=b"#EXTM3U\n#EXTINF:2,\n../../../../bob/secret.ts\n#EXT-X-ENDLIST\n")
    answer = _get(client, f"/api/v1/upload/videos/{video_id}/playback/hls/v0/index.m3u8")
    assert answer.status_code == 404
    assert "secret" not in answer.text


def test_object_storage_faults_are_a_503(make_video_client, s3):
    client = make_video_client({**SETTINGS, "processed_bucket": "itube-no-such-bucket"})
    video_id, key = registered(client)
    assert report(client, video_id, {"status": "COMPLETED", "outputs": [
        {"kind": "hls", "key": f"{key}/hls/master.m3u8"}]}).status_code == 200
    answer = _get(client, MANIFEST.format(video_id))
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert "Retry-After" in answer.headers


# -- caching: the source in the cache backend, the rewritten bytes in the process ----------


@pytest.fixture(params=["memory", "redis"])
def cached(request, make_config, make_client):
    # A short hold: the video's entry is cached again soon after each change.
    plugins, sections = ["video"], {"video": {**SETTINGS, "cache_invalidation_hold_seconds": 0.2}}
    if request.param == "redis":
        plugins = ["cache_redis", "video"]
        sections["cache_redis"] = {"url": request.getfixturevalue("redis_url"),
                                   "key_prefix": request.getfixturevalue("redis_prefix")}
    return make_client(make_config(plugins, plugins=sections),
                       plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])


def _forget_rewritten(client: Any) -> None:
    client.app.state.ctx.state[STATE_KEY].rewritten = RewrittenPlaylists()


def test_playlists_are_kept_until_the_video_changes(cached, s3):
    client = cached
    hold_presigner_clock(client, SETTINGS["media_url_window_seconds"])
    video_id, key = completed_with_ladder(client, s3)
    path = f"/api/v1/upload/videos/{video_id}/playback/hls/v0/index.m3u8"
    first = _get(client, path)
    assert first.status_code == 200
    s3.delete_object(Bucket=PROCESSED, Key=f"{key}/hls/v0/index.m3u8")
    # the same window: the very bytes, signed once
    assert _get(client, path).content == first.content
    # rewritten afresh, from the cached source: the bucket is not read again
    _forget_rewritten(client)
    assert _get(client, path).status_code == 200
    # an edit changes the video: its playlists are read again (and now are gone)
    assert workflow.edit_video(client, ALICE, video_id, title="Renamed").status_code == 200
    _forget_rewritten(client)
    assert _get(client, path).status_code == 404


def test_a_deleted_video_has_no_playlists(cached, s3):
    client = cached
    video_id, _ = completed_with_ladder(client, s3)
    assert _get(client, MANIFEST.format(video_id)).status_code == 200
    assert workflow.delete_video(client, ALICE, video_id).status_code == 204
    assert _get(client, MANIFEST.format(video_id)).status_code == 404


def test_requests_missing_a_playlist_together_share_one_rewrite(make_video_client, s3):
    """Every request of a popular video's first moment in a new window would otherwise sign
    the whole playlist for itself."""
    client = make_video_client({"playback_url_ttl_seconds": 7200,
                                "media_url_window_seconds": 3600})
    video_id, _ = completed_with_ladder(client, s3)
    path = f"/api/v1/upload/videos/{video_id}/playback/hls/v0/index.m3u8"
    service = client.app.state.ctx.state[STATE_KEY]
    before, together = service.rewrites, threading.Barrier(REQUESTS_TOGETHER)

    def fetch(_: int) -> bytes:
        together.wait(10)
        answer = _get(client, path)
        assert answer.status_code == 200, answer.text
        return answer.content

    with ThreadPoolExecutor(max_workers=REQUESTS_TOGETHER) as pool:
        bodies = set(pool.map(fetch, range(REQUESTS_TOGETHER)))
    assert len(bodies) == 1
    assert service.rewrites - before == 1


# -- access from the video's cached answer: a warm request reads no row --------------------


def _media_path(video_id: str) -> str:
    return f"/api/v1/upload/videos/{video_id}/playback/hls/v0/index.m3u8"


def _warm(client: Any, video_id: str) -> None:
    """Ask for the video until its answer is cached (past the hold of its last change)."""
    cache, key = client.app.state.ctx.cache, video_cache_key(video_id)

    def cached_afresh() -> bool:
        assert workflow.get_video(client, ALICE, video_id).status_code == 200
        entry = run_in_app(client, lambda: cache.get(key))
        return entry is not None and not is_tombstone(entry)

    assert wait_until(cached_afresh)


def test_a_warm_playlist_request_reads_no_row(cached, s3):
    client = cached
    video_id, _ = completed_with_ladder(client, s3, visibility="UNLISTED")
    _warm(client, video_id)
    for path in (MANIFEST.format(video_id), _media_path(video_id)):
        for viewer in (ALICE, BOB, workflow.ANONYMOUS):
            assert _get(client, path, viewer).status_code == 200  # the rewritten bytes
            answer, statements = queries_made(lambda p=path, v=viewer: _get(client, p, v))
            assert answer.status_code == 200, answer.text
            assert statements == 0


def test_a_video_made_private_is_refused_at_once_on_a_warm_cache(cached, s3):
    client = cached
    video_id, _ = completed_with_ladder(client, s3, visibility="UNLISTED")
    _warm(client, video_id)
    for path in (MANIFEST.format(video_id), _media_path(video_id)):
        assert _get(client, path, BOB).status_code == 200
    assert workflow.edit_video(client, ALICE, video_id, visibility="PRIVATE").status_code == 200
    for path in (MANIFEST.format(video_id), _media_path(video_id)):
        assert _get(client, path, BOB).status_code == 404
        assert _get(client, path, workflow.ANONYMOUS).status_code == 404
        assert _get(client, path, ALICE).status_code == 200


def test_an_entry_cached_before_it_held_the_playback_facts_is_read_afresh(cached, s3):
    client = cached
    video_id, _ = completed_with_ladder(client, s3, visibility="PRIVATE")
    _warm(client, video_id)
    cache, key = client.app.state.ctx.cache, video_cache_key(video_id)
    header, body, facts = run_in_app(client, lambda: cache.get(key)).split(b"\n")
    assert orjson.loads(facts)["hls"] is not None  # the playback facts: the last line
    old_form = header + b"\n" + body
    run_in_app(client, lambda: cache.set(key, old_form, 60))
    answer, statements = queries_made(lambda: _get(client, _media_path(video_id)))
    assert answer.status_code == 200, answer.text
    assert statements == 1  # the row, read and not stored over the old entry
    assert _get(client, _media_path(video_id), BOB).status_code == 404
    assert run_in_app(client, lambda: cache.get(key)) == old_form
