"""A video's JSON is written straight from its record, byte for byte what the generic
converter writes for `VideoOut`, and so are the playback facts its cached answer keeps; a
cached answer is the bytes of an uncached one, and is opened once while the cache hands
back the same bytes."""

from __future__ import annotations

import datetime as dt
import uuid

import attrs
import orjson
import pytest

from core.http import render
from plugins.video.models import OutputKind, OutputReport, VideoOut, VideoRecord
from plugins.video.playback.outputs import outputs_json
from plugins.video.playback.playable import PlayableVideo, playback_facts
from plugins.video.service import _OpenedEntries, _video_envelope, to_view, view_fields
from plugins.video.states import Status, Visibility
from plugins.video.storage import MediaUrls
from tests.video import workflow
from tests.video.support import insert_video, user

RECORD = VideoRecord(
    id=uuid.UUID("11e4301c-0d3b-4b5e-9a51-3c6a2a7e5f01"), owner_id="f6c9e321",
    title='Tricky "quotes", \\ and ünïcödé 🎬', description="two\nlines\tand a tab",
    visibility=Visibility.PUBLIC, processing_status=Status.COMPLETED,
    video_s3_key="videos/f6c9e321/a b+c.mp4", thumbnail_s3_key="thumbnails/f6c9e321/t.jpg",
    size_bytes=1234, content_type="video/mp4", failure_reason=None, duration_seconds=42.5,
    created_at=dt.datetime(2026, 11, 24, 4, 57, 10, 348924, tzinfo=dt.UTC),
    updated_at=dt.datetime(2026, 11, 24, 5, 0, 0, tzinfo=dt.UTC), version=3,
)
URLS = MediaUrls("http://127.0.0.1:4566/processed/videos/a%20b?X-Amz-Signature=ab", None)


@pytest.mark.parametrize("changes", [
    {},
    {"processing_status": Status.FAILED, "failure_reason": "broken", "duration_seconds": None,
     "thumbnail_s3_key": None},
    {"visibility": Visibility.PRIVATE, "duration_seconds": 0.1 + 0.2},
    {"created_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5)))},
    {"duration_seconds": 1e21},
])
@pytest.mark.parametrize("urls", [URLS, MediaUrls(None, None)])
def test_a_video_renders_as_the_converter_renders_its_view(changes, urls):
    record = attrs.evolve(RECORD, **changes)
    assert orjson.dumps(view_fields(record, urls)) == render(to_view(record, urls))


def test_the_view_names_every_field_of_the_published_schema():
    assert list(view_fields(RECORD, URLS)) == [field.name for field in attrs.fields(VideoOut)]


HLS = OutputReport(kind=OutputKind.HLS, key="processed/f6c9e321/hls/master.m3u8")
POSTER = OutputReport(kind=OutputKind.POSTER, key="processed/f6c9e321/poster.jpg")


@pytest.mark.parametrize("changes", [
    {},
    {"outputs": outputs_json([POSTER, HLS])},
    {"outputs": outputs_json([POSTER])},
    {"outputs": outputs_json([HLS]), "processing_status": Status.IN_PROGRESS},
    {"outputs": outputs_json([HLS]), "visibility": Visibility.UNLISTED, "version": 9},
])
def test_the_playback_facts_are_those_of_the_playable_video(changes):
    record = attrs.evolve(RECORD, **changes)
    assert playback_facts(record) == PlayableVideo.of(record).facts()


def test_a_completed_video_with_a_master_playlist_keeps_its_key_in_the_facts():
    record = attrs.evolve(RECORD, outputs=outputs_json([POSTER, HLS]))
    assert playback_facts(record)["hls"] == HLS.key


def test_a_cached_answer_is_the_bytes_of_an_uncached_one(client):
    alice = user("alice")
    video_id = insert_video(client, processing_status="IN_PROGRESS", description="ü\n")
    uncached = workflow.get_video(client, alice, video_id)
    cached = workflow.get_video(client, alice, video_id)
    assert uncached.status_code == cached.status_code == 200
    assert cached.content == uncached.content
    mine = client.get("/api/v1/upload/videos/mine", **alice.request_options())
    assert mine.content == b"[" + uncached.content + b"]"


def _entry(title: str) -> bytes:
    return _video_envelope({"owner_id": "f6c9e321", "discoverable": True, "etag": '"1"'},
                           orjson.dumps({"title": title}), playback_facts(RECORD))


def test_an_entry_handed_back_again_is_not_opened_again():
    kept = _OpenedEntries(limit=2)
    entry = _entry("First")
    kept.opened("a", entry)
    assert kept.opened("a", entry) is kept.opened("a", entry)
    assert orjson.loads(kept.opened("a", entry).body) == {"title": "First"}


def test_an_entry_asked_for_once_is_not_kept():
    kept = _OpenedEntries(limit=2)
    entry = _entry("First")
    first = kept.opened("a", entry)
    assert kept.opened("b", _entry("Other")).body != first.body
    assert kept.opened("a", entry) is not first


def test_an_entry_replaced_in_the_cache_is_opened_afresh():
    kept = _OpenedEntries(limit=2)
    first = _entry("First")
    kept.opened("a", first)
    kept.opened("a", first)
    # Equal bytes, another object: what a reload after an invalidation hands back.
    assert orjson.loads(kept.opened("a", _entry("Second")).body) == {"title": "Second"}


def test_the_kept_entries_are_bounded():
    kept = _OpenedEntries(limit=2)
    entries = {video: _entry(video) for video in "abc"}
    kept.opened("a", entries["a"])
    first = kept.opened("a", entries["a"])  # asked for again: kept
    for video in "bc":  # the third kept: full, every entry kept is forgotten
        kept.opened(video, entries[video])
        kept.opened(video, entries[video])
    assert kept.opened("a", entries["a"]) is not first
