"""The outputs reported with COMPLETED: checked, stored with the status in one
transaction, and shown as renditions wherever the video is shown."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tests.video import workflow
from tests.video.playback.support import (
    ALICE,
    BOB,
    MANIFEST,
    PROCESSED,
    completed_with_ladder,
    ladder_outputs,
    registered,
)
from tests.video.support import TRANSCODER, problem_fields, run_in_app, status_history
from tests.video.transcoding import report


def _presigned_key(url: str) -> str:
    parts = urlsplit(url)
    assert "X-Amz-Signature" in parse_qs(parts.query), url
    bucket, _, key = unquote(parts.path).lstrip("/").partition("/")
    assert bucket == PROCESSED
    return key


def test_a_completed_report_with_outputs_shows_renditions_everywhere(client, s3):
    video_id, key = completed_with_ladder(client, s3, visibility="PUBLIC")
    seen = workflow.get_video(client, workflow.ANONYMOUS, video_id).json()
    assert seen["playback_url"] == MANIFEST.format(video_id)
    assert seen["duration_seconds"] == 4.0
    kinds = [rendition["kind"] for rendition in seen["renditions"]]
    assert kinds == ["hls", "mp4", "poster"]
    hls, mp4, poster = seen["renditions"]
    assert hls == {"kind": "hls", "url": MANIFEST.format(video_id), "width": 320,
                   "height": 180, "bitrate": 200_000, "codecs": "avc1.42c01e"}
    assert _presigned_key(mp4["url"]) == f"{key}/mp4/320.mp4"
    assert (mp4["width"], mp4["height"], mp4["bitrate"], mp4["codecs"]) == (320, 180, None, None)
    # the video has no thumbnail of its own: the poster is its thumbnail
    assert seen["thumbnail_url"] == poster["url"]
    assert httpx.get(poster["url"], timeout=10).content[:2] == b"\xff\xd8"
    for listing in (workflow.list_public(client, workflow.ANONYMOUS).json(),
                    workflow.list_mine(client, ALICE).json()):
        (listed,) = [video for video in listing if video["id"] == video_id]
        assert [r["kind"] for r in listed["renditions"]] == kinds
        assert listed["playback_url"] == MANIFEST.format(video_id)


def test_the_status_answer_carries_the_renditions(client, s3):
    video_id, key = registered(client)
    answer = report(client, video_id, {"status": "COMPLETED",
                                       "outputs": ladder_outputs(key)[:1]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["renditions"][0]["url"] == MANIFEST.format(video_id)
    assert answer.json()["playback_url"] == MANIFEST.format(video_id)


def test_a_thumbnail_of_its_own_wins_over_the_poster(client):
    thumb = workflow.upload(client, ALICE, b"\xff\xd8 a thumbnail", thumbnail=True,
                            content_type="image/jpeg")
    video_id, key = registered(client, thumbnail_key=thumb)
    assert report(client, video_id, {"status": "COMPLETED",
                                     "outputs": ladder_outputs(key)}).status_code == 200
    seen = workflow.get_video(client, ALICE, video_id).json()
    assert unquote(urlsplit(seen["thumbnail_url"]).path).endswith(thumb)
    assert seen["renditions"][2]["url"] != seen["thumbnail_url"]


def test_the_seed_form_keeps_todays_answer(client):
    video_id, key = registered(client)
    answer = workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")
    assert answer.status_code == 200, answer.text
    seen = workflow.get_video(client, ALICE, video_id).json()
    assert seen["renditions"] == []
    assert _presigned_key(seen["playback_url"]) == key


def test_renditions_are_hidden_until_completed_and_replaced_by_the_next_completion(client):
    video_id, key = registered(client)
    assert workflow.get_video(client, ALICE, video_id).json()["renditions"] == []
    assert report(client, video_id, {"status": "COMPLETED",
                                     "outputs": ladder_outputs(key)}).status_code == 200
    assert workflow.set_status(client, TRANSCODER, video_id, "IN_PROGRESS").status_code == 200
    reprocessing = workflow.get_video(client, ALICE, video_id).json()
    assert (reprocessing["renditions"], reprocessing["playback_url"]) == ([], None)
    assert report(client, video_id, {"status": "COMPLETED", "outputs": [
        {"kind": "mp4", "key": f"{key}/again.mp4"}]}).status_code == 200
    seen = workflow.get_video(client, ALICE, video_id).json()
    assert [r["kind"] for r in seen["renditions"]] == ["mp4"]


def _refused(client, video_id, outputs, status="COMPLETED"):
    answer = report(client, video_id, {"status": status, "outputs": outputs})
    return problem_fields(answer)


@pytest.mark.parametrize("status", ["IN_PROGRESS", "FAILED"])
def test_outputs_go_only_with_completed(client, status):
    video_id, key = registered(client)
    assert _refused(client, video_id, ladder_outputs(key), status) == ["outputs"]


def test_outputs_keep_their_limits(client):
    video_id, key = registered(client)
    many = [{"kind": "mp4", "key": f"{key}/{n}.mp4"} for n in range(33)]
    assert _refused(client, video_id, many) == ["outputs"]
    two_masters = [{"kind": "hls", "key": f"{key}/{n}.m3u8"} for n in range(2)]
    assert _refused(client, video_id, two_masters) == ["outputs"]
    two_posters = [{"kind": "poster", "key": f"{key}/{n}.jpg"} for n in range(2)]
    assert _refused(client, video_id, two_posters) == ["outputs"]
    assert report(client, video_id, {"status": "COMPLETED", "outputs": many[:32]}
                  ).status_code == 200


@pytest.mark.parametrize("bad_key", [
    "videos/alice/{other}/hls/master.m3u8",
    "{key}",
    "{key}x/master.m3u8",
    "{key}/../{other}/master.m3u8",
    "{key}/hls/\x07.m3u8",
    "{key}/hls/\u202emaster.m3u8",
    "{key}/" + "a" * 1100,
    "elsewhere/master.m3u8",
])
def test_every_key_lies_under_the_videos_processed_prefix(client, bad_key):
    video_id, key = registered(client)
    other, _ = registered(client)
    outputs = ladder_outputs(key)
    outputs[1]["key"] = bad_key.format(key=key, other=other)
    assert _refused(client, video_id, outputs) == ["outputs[1].key"]
    # nothing half-written: still IN_PROGRESS, no history row beyond the creation
    assert workflow.get_video(client, ALICE, video_id).json()["processing_status"] == \
        "IN_PROGRESS"
    assert len(run_in_app(client, lambda: status_history(video_id))) == 1


def test_the_transcoder_of_another_video_cannot_point_at_this_one(client):
    """Keys are checked against the reported video's own prefix, not anyone's."""
    video_id, _ = registered(client)
    _, bobs_key = registered(client)
    assert _refused(client, video_id, ladder_outputs(bobs_key)[:1]) == ["outputs[0].key"]
    assert workflow.get_video(client, BOB, video_id).status_code == 404
