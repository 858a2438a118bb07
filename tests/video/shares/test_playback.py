"""Playing a shared video through its link's playlists, on both databases: the owner's
rewritten playlists, for a link that is live and was opened; a revoked, expired or deleted
one stops them at once; the playlists count no view."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

from plugins.video.transcoder import FIXTURE_LADDER
from tests.video import workflow
from tests.video.playback.support import completed_with_ladder
from tests.video.shares.support import (
    ALICE,
    SHARED,
    created,
    problem_without_ids,
    queries_made,
    share_rows,
    shares_path,
    update_share,
    video_of,
)
from tests.video.support import problem_fields

TTL = 300
SETTINGS = {"playback_url_ttl_seconds": TTL, "media_url_window_seconds": 60}
BASE = "http://testserver"
VARIANT = "playback/hls/v0/index.m3u8"
NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


@pytest.fixture
def client(make_video_client):
    return make_video_client(SETTINGS)


def _master(token: str) -> str:
    return f"{SHARED}/{token}/playback.m3u8"


def _uris(playlist: str) -> list[str]:
    lines = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    return lines + re.findall(r'URI="([^"]*)"', playlist)


def _shared(client: Any, s3: Any, **link: Any) -> tuple[str, dict[str, Any]]:
    """A completed private video of alice's with the fixture ladder, and a link to it."""
    video_id, _ = completed_with_ladder(client, s3)
    return video_id, created(client, video_id, **link)


def _playlists(client: Any, token: str) -> list[httpx.Response]:
    """The master playlist and a variant playlist, through the link."""
    return [client.get(_master(token)), client.get(f"{SHARED}/{token}/{VARIANT}")]


def _refused(responses: list[httpx.Response]) -> list[dict[str, Any]]:
    assert [response.status_code for response in responses] == [404] * len(responses)
    assert all({name: response.headers.get(name) for name in NO_STORE} == NO_STORE
               for response in responses)
    return [problem_without_ids(response) for response in responses]


def test_a_private_video_plays_through_its_link(client, s3):
    video_id, share = _shared(client, s3)
    opened = client.get(share["url"]).json()
    master_url = BASE + _master(share["token"])
    assert opened["playback_url"] == _master(share["token"])
    [hls] = [rendition for rendition in opened["renditions"] if rendition["kind"] == "hls"]
    assert hls["url"] == opened["playback_url"]
    # the video's own manifest route is no way in for the link's holder
    assert client.get(f"/api/v1/upload/videos/{video_id}/playback.m3u8").status_code == 404
    master = client.get(master_url)
    assert master.status_code == 200, master.text
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master.headers["referrer-policy"] == "no-referrer"
    cache_control = master.headers["cache-control"]
    assert cache_control.startswith("private, max-age=")
    assert TTL - 5 <= int(cache_control.split("=")[1]) <= TTL
    owners = client.get(f"/api/v1/upload/videos/{video_id}/playback.m3u8",
                        **ALICE.request_options())
    assert master.content == owners.content  # relative URIs: the same bytes resolve here
    fetched = {}
    for variant in _uris(master.text):
        media = client.get(urljoin(master_url, variant))
        assert media.status_code == 200, media.text
        assert media.request.url.path.startswith(f"{SHARED}/{share['token']}/playback/hls/")
        for segment in _uris(media.text):
            got = httpx.get(segment, timeout=10)  # presigned, from the emulator over HTTP
            assert got.status_code == 200, segment
            fetched[segment.split("?")[0].rsplit("/hls/", 1)[1]] = got.content
    assert fetched == {path.relative_to(FIXTURE_LADDER).as_posix(): path.read_bytes()
                       for path in FIXTURE_LADDER.rglob("*.ts")}
    [row] = share_rows(client, uuid.UUID(video_id))
    assert row["views"] == 1  # the playlists counted no view


def test_a_link_plays_only_once_opened(client, s3):
    _, share = _shared(client, s3)
    _refused(_playlists(client, share["token"]))
    assert client.get(share["url"]).status_code == 200
    assert [r.status_code for r in _playlists(client, share["token"])] == [200, 200]


def test_a_link_used_up_by_its_last_open_still_plays(client, s3):
    _, share = _shared(client, s3, max_views=1)
    assert client.get(share["url"]).json()["share"]["views_left"] == 0
    assert client.get(share["url"]).status_code == 404
    assert [r.status_code for r in _playlists(client, share["token"])] == [200, 200]


def test_a_revoked_link_stops_its_playlists_at_once(client, s3):
    video_id, share = _shared(client, s3)
    assert client.get(share["url"]).status_code == 200
    assert [r.status_code for r in _playlists(client, share["token"])] == [200, 200]
    revoked = client.delete(f"{shares_path(video_id)}/{share['id']}", **ALICE.request_options())
    assert revoked.status_code == 204
    refusals = _refused(_playlists(client, share["token"]))
    unknown = _refused([client.get(_master("A" * 43)), client.get(f"{SHARED}/{'A' * 43}")])
    assert all(body == unknown[0] for body in refusals + unknown)


def test_an_expired_link_or_a_deleted_video_stops_the_playlists(client, s3):
    _, expired = _shared(client, s3)
    doomed, deleted = _shared(client, s3)
    for share in (expired, deleted):
        assert client.get(share["url"]).status_code == 200
    update_share(client, uuid.UUID(expired["id"]),
                 expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert workflow.delete_video(client, ALICE, doomed).status_code == 204
    for share in (expired, deleted):
        _refused(_playlists(client, share["token"]))


def test_a_video_without_hls_plays_from_its_presigned_url_and_has_no_shared_playlists(
        client):
    share = created(client, video_of(client))
    opened = client.get(share["url"]).json()
    assert "X-Amz-Signature=" in opened["playback_url"]
    _refused(_playlists(client, share["token"]))


def test_a_configured_base_url_makes_the_playback_url_absolute(make_video_client, s3):
    client = make_video_client({**SETTINGS, "share_base_url": "https://video.example.com"})
    _, share = _shared(client, s3)
    opened = client.get(share["url"].removeprefix("https://video.example.com")).json()
    assert opened["playback_url"] == f"https://video.example.com{_master(share['token'])}"


@pytest.mark.parametrize("token", ["short", "A" * 44, "A" * 42 + "!"])
def test_a_malformed_token_is_refused_before_any_query(client, token):
    for path in (_master(token), f"{SHARED}/{token}/{VARIANT}"):
        response, statements = queries_made(lambda p=path: client.get(p))
        assert response.status_code == 404
        assert statements == 0


def test_a_path_outside_the_video_is_a_422_for_a_live_link(client, s3):
    _, share = _shared(client, s3)
    assert client.get(share["url"]).status_code == 200
    answer = client.get(f"{SHARED}/{share['token']}/playback/hls/%2E%2E/%2E%2E/x.m3u8")
    assert problem_fields(answer) == ["path"]


def test_playlists_are_rate_limited_with_the_opens(make_video_client, s3):
    client = make_video_client({**SETTINGS, "share_rate_limit": "3/minute"})
    _, share = _shared(client, s3)
    assert client.get(share["url"]).status_code == 200
    assert [r.status_code for r in _playlists(client, share["token"])] == [200, 200]
    refused = client.get(_master(share["token"]))
    assert refused.status_code == 429
    assert refused.headers["referrer-policy"] == "no-referrer"


def test_the_playlist_routes_are_in_the_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (f"{SHARED}/{{token}}/playback.m3u8", f"{SHARED}/{{token}}/playback/{{path}}"):
        responses = paths[path]["get"]["responses"]
        assert set(responses) >= {"200", "404", "429", "503"}
        assert "application/vnd.apple.mpegurl" in responses["200"]["content"]
        assert "Referrer-Policy" in responses["200"]["headers"]
