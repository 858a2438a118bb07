"""Playback and thumbnail URLs: a CDN's permanent URLs for public videos only; unlisted
and private videos always get presigned URLs that expire, cached or not. Presigned URLs
are signed once per window: the same within it, valid for at least the TTL from when
they are handed out (the presigner's clock is set by the test)."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from plugins.video.config import VideoSettings, settings_problems
from plugins.video.models import VideoRecord
from plugins.video.presign import expires_at, signed_at
from plugins.video.states import Status, Visibility
from plugins.video.storage import NO_URLS, Buckets, VideoStorage
from tests.video import workflow
from tests.video.support import hold_presigner_clock, insert_video, user
from tests.video.test_presign import client_credentials

ALICE = user("alice")
TTL, WINDOW = 300, 60
SIGNED = {"playback_url_ttl_seconds": TTL, "media_url_window_seconds": WINDOW,
          "cache_ttl_seconds": 60}
CDN = {"playback_base_url": "https://cdn.example.com/v",
       "thumbnail_base_url": "https://cdn.example.com/t", **SIGNED}


def _presigned_for(url: str, bucket: str, key: str) -> bool:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return (unquote(parts.path) == f"/{bucket}/{key}"
            and query["X-Amz-Expires"] == [str(TTL + WINDOW)] and "X-Amz-Signature" in query)


def _insert(client, visibility):
    video_id = insert_video(client, visibility=visibility,
                            thumbnail_s3_key=f"thumbnails/alice/{visibility.lower()}")
    return video_id, f"videos/alice/{video_id}", f"thumbnails/alice/{visibility.lower()}"


def test_a_public_video_is_served_by_the_cdn(make_video_client):
    client = make_video_client(CDN)
    video_id, key, thumb = _insert(client, "PUBLIC")
    seen = workflow.get_video(client, workflow.ANONYMOUS, video_id).json()
    assert seen["playback_url"] == f"https://cdn.example.com/v/{key}"
    assert seen["thumbnail_url"] == f"https://cdn.example.com/t/{thumb}"


@pytest.mark.parametrize("visibility", ["UNLISTED", "PRIVATE"])
def test_a_non_public_video_gets_presigned_urls_even_with_a_cdn(make_video_client,
                                                                  visibility):
    client = make_video_client(CDN)
    video_id, key, thumb = _insert(client, visibility)
    for attempt in ("loaded", "cached"):
        seen = workflow.get_video(client, ALICE, video_id).json()
        assert _presigned_for(seen["playback_url"], "itube-processed-videos", key), attempt
        assert _presigned_for(seen["thumbnail_url"], "itube-video-thumbnails", thumb), attempt
        assert "cdn.example.com" not in seen["playback_url"] + seen["thumbnail_url"]


def test_the_owners_list_signs_non_public_videos_and_keeps_the_cdn_for_public_ones(
    make_video_client,
):
    client = make_video_client(CDN)
    inserted = {visibility: _insert(client, visibility)
                for visibility in ("PUBLIC", "UNLISTED", "PRIVATE")}
    listed = {video["visibility"]: video for video in workflow.list_mine(client, ALICE).json()}
    assert listed["PUBLIC"]["playback_url"].startswith("https://cdn.example.com/v/")
    for visibility in ("UNLISTED", "PRIVATE"):
        _, key, thumb = inserted[visibility]
        assert _presigned_for(listed[visibility]["playback_url"], "itube-processed-videos", key)
        assert _presigned_for(listed[visibility]["thumbnail_url"], "itube-video-thumbnails",
                              thumb)


def test_the_presigned_urls_of_a_private_video_work(make_video_client, s3):
    client = make_video_client(CDN)
    video_id, key, thumb = _insert(client, "PRIVATE")
    s3.put_object(Bucket="itube-processed-videos", Key=key, Body=b"playable")
    s3.put_object(Bucket="itube-video-thumbnails", Key=thumb, Body=b"\xff\xd8 thumb")
    seen = workflow.get_video(client, ALICE, video_id).json()
    assert httpx.get(seen["playback_url"], timeout=10).content == b"playable"
    assert httpx.get(seen["thumbnail_url"], timeout=10).content == b"\xff\xd8 thumb"


def _record(visibility: Visibility, status: Status = Status.COMPLETED) -> VideoRecord:
    video_id, now = uuid.uuid4(), dt.datetime.now(dt.UTC)
    return VideoRecord(
        id=video_id, owner_id="alice", title="t", description="", visibility=visibility,
        processing_status=status, video_s3_key=f"videos/alice/{video_id}",
        thumbnail_s3_key=f"thumbnails/alice/{video_id}", size_bytes=1,
        content_type="video/mp4", failure_reason=None, duration_seconds=None,
        created_at=now, updated_at=now, version=1)


def test_a_presigned_url_is_the_same_on_the_plain_path_and_the_general_one(s3):
    """Without a CDN or renditions a batch's URLs are made on a shorter path: a video
    whose URLs the CDN settings leave presigned gets the same ones on the general path."""
    moment = dt.datetime.now(dt.UTC).replace(microsecond=0)
    buckets = Buckets(raw="itube-raw-videos", thumbnails="itube-video-thumbnails",
                      processed="itube-processed-videos")
    storages = [VideoStorage(s3, buckets, VideoSettings(**settings),
                             credentials=client_credentials(s3)) for settings in (SIGNED, CDN)]
    for storage in storages:
        storage.presigner.clock = lambda: moment
    records = [_record(Visibility.PRIVATE), _record(Visibility.UNLISTED, Status.IN_PROGRESS),
               _record(Visibility.UNLISTED)]
    assert [storage._presigns_plainly(records) for storage in storages] == [True, False]
    plain, general = (asyncio.run(storage.media_urls(records)) for storage in storages)
    assert plain == general
    assert plain[1] is NO_URLS
    for record, urls in zip(records[::2], plain[::2], strict=True):
        assert _presigned_for(urls.playback_url, buckets.processed, record.video_s3_key)
        assert _presigned_for(urls.thumbnail_url, buckets.thumbnails, record.thumbnail_s3_key)


def _my_urls(client) -> tuple[str, str]:
    (video,) = workflow.list_mine(client, ALICE).json()  # never cached
    return video["playback_url"], video["thumbnail_url"]


def test_requests_in_one_window_get_the_same_urls_and_they_fetch_the_objects(
    make_video_client, s3,
):
    client = make_video_client(SIGNED)
    _, key, thumb = _insert(client, "PRIVATE")
    s3.put_object(Bucket="itube-processed-videos", Key=key, Body=b"playable")
    s3.put_object(Bucket="itube-video-thumbnails", Key=thumb, Body=b"\xff\xd8 thumb")
    moment = hold_presigner_clock(client, WINDOW)
    window_start = moment[0]
    moment[0] = window_start + dt.timedelta(seconds=1)
    first = _my_urls(client)
    moment[0] = window_start + dt.timedelta(seconds=WINDOW - 1, microseconds=999_999)
    assert _my_urls(client) == first
    playback, thumbnail = first
    assert signed_at(playback) == signed_at(thumbnail) == window_start
    assert httpx.get(playback, timeout=10).content == b"playable"
    assert httpx.get(thumbnail, timeout=10).content == b"\xff\xd8 thumb"
    moment[0] = window_start + dt.timedelta(seconds=WINDOW)
    assert signed_at(_my_urls(client)[0]) == moment[0]


def test_rotated_credentials_sign_the_next_videos_urls_within_the_window(make_video_client):
    """The media buckets' signers are kept for the window, but not past a change of the
    credentials: a video first shown after it is signed with the new ones."""
    client = make_video_client(SIGNED)
    _insert(client, "PRIVATE")
    hold_presigner_clock(client, WINDOW)
    before = _my_urls(client)
    credentials = client.app.state.ctx.state["video"].storage.presigner.credentials
    credentials.access_key = "AKIDROTATEDMEDIA"
    insert_video(client, visibility="UNLISTED", thumbnail_s3_key="thumbnails/alice/second")
    listed = {video["visibility"]: video for video in workflow.list_mine(client, ALICE).json()}
    assert "X-Amz-Credential=AKIDROTATEDMEDIA%2F" not in "".join(before)
    for field in ("playback_url", "thumbnail_url"):
        assert "X-Amz-Credential=AKIDROTATEDMEDIA%2F" in listed["UNLISTED"][field]


def test_a_window_keeps_each_videos_urls_until_the_video_changes(make_video_client):
    """A listing shown again in a window reuses each video's URLs; a change of the video
    (its version) makes them anew, even within the window."""
    client = make_video_client(CDN)
    video_id, key, thumb = _insert(client, "PRIVATE")
    hold_presigner_clock(client, WINDOW)
    kept = client.app.state.ctx.state["video"].storage.window_urls
    first = _my_urls(client)
    assert [(urls.playback_url, urls.thumbnail_url) for urls in kept.kept.values()] == [first]
    assert _my_urls(client) == first
    assert workflow.edit_video(client, ALICE, str(video_id),
                               visibility="PUBLIC").status_code == 200
    assert _my_urls(client) == (f"https://cdn.example.com/v/{key}",
                                f"https://cdn.example.com/t/{thumb}")


def test_a_url_handed_out_late_in_a_window_is_valid_for_at_least_the_ttl(make_video_client):
    client = make_video_client(SIGNED)
    _insert(client, "UNLISTED")
    moment = hold_presigner_clock(client, WINDOW)
    moment[0] += dt.timedelta(seconds=WINDOW - 1, microseconds=999_999)
    for url in _my_urls(client):
        lifetime = expires_at(url) - moment[0]
        assert dt.timedelta(seconds=TTL) <= lifetime <= dt.timedelta(seconds=TTL + WINDOW)


def test_a_window_of_0_signs_each_second_for_the_ttl(make_video_client):
    client = make_video_client({**SIGNED, "media_url_window_seconds": 0})
    _insert(client, "PRIVATE")
    moment = hold_presigner_clock(client, WINDOW)
    first = _my_urls(client)
    moment[0] += dt.timedelta(seconds=1)
    next_second = _my_urls(client)
    for before, after in zip(first, next_second, strict=True):
        assert signed_at(after) - signed_at(before) == dt.timedelta(seconds=1)
        assert parse_qs(urlsplit(after).query)["X-Amz-Expires"] == [str(TTL)]


WEEK = 7 * 24 * 3600


@pytest.mark.parametrize(("changes", "key"), [
    ({"media_url_window_seconds": -1}, "media_url_window_seconds"),
    ({"playback_url_ttl_seconds": 300, "media_url_window_seconds": 301},
     "media_url_window_seconds"),
    ({"playback_url_ttl_seconds": WEEK, "media_url_window_seconds": 1},
     "playback_url_ttl_seconds"),
])
def test_a_window_outlasting_the_ttl_or_s3s_week_is_refused(changes, key):
    problems = settings_problems(VideoSettings(**changes))
    assert any(problem.startswith(f"plugins.video.{key}:") for problem in problems), problems


@pytest.mark.parametrize("changes", [
    {"media_url_window_seconds": 0},
    {"playback_url_ttl_seconds": 300, "media_url_window_seconds": 300},
    {"playback_url_ttl_seconds": WEEK - 60, "media_url_window_seconds": 60},
])
def test_a_window_up_to_the_ttl_and_s3s_week_is_accepted(changes):
    assert settings_problems(VideoSettings(**changes)) == []
