"""Playback and thumbnail URLs: a CDN's permanent URLs for public videos only; unlisted
and private videos always get presigned URLs that expire, cached or not."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tests.video import workflow
from tests.video.support import insert_video, user

ALICE = user("alice")
CDN = {"playback_base_url": "https://cdn.example.com/v",
       "thumbnail_base_url": "https://cdn.example.com/t",
       "playback_url_ttl_seconds": 300, "cache_ttl_seconds": 60}


def _presigned_for(url: str, bucket: str, key: str) -> bool:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return (unquote(parts.path) == f"/{bucket}/{key}"
            and query["X-Amz-Expires"] == ["300"] and "X-Amz-Signature" in query)


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
