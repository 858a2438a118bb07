"""The pure parts: cursors, keys, the state machine, settings checks."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Forbidden, ValidationFailed
from plugins.video.config import VideoSettings, settings_problems
from plugins.video.keys import MediaKind, check_owned_key, new_key
from plugins.video.pagination import CURSOR_PATTERN, Cursor
from plugins.video.states import Status, Visibility, allowed_from, can_move, is_discoverable

timestamps = st.datetimes(
    min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(9000, 1, 1),
    timezones=st.just(dt.UTC),
)


@given(created_at=timestamps, video_id=st.uuids())
def test_a_cursor_round_trips_exactly(created_at, video_id):
    cursor = Cursor(created_at=created_at, id=video_id)
    text = cursor.encode()
    assert text.isascii() and "=" not in text and "/" not in text and "+" not in text
    assert Cursor.decode(text) == cursor


@given(st.text(max_size=120))
def test_any_other_text_is_a_422_never_a_crash(text):
    try:
        Cursor.decode(text)
    except ValidationFailed as exc:
        assert exc.errors[0]["field"] == "cursor"


def test_new_keys_sit_under_the_owner_prefix():
    key = new_key(MediaKind.VIDEO, "alice")
    assert key.startswith("videos/alice/")
    check_owned_key(key, MediaKind.VIDEO, "alice", field="video_s3_key")


@pytest.mark.parametrize("owner", ["", "a/b", "tab\there"])
def test_owner_ids_unusable_in_a_key_are_refused(owner):
    with pytest.raises(Forbidden):
        new_key(MediaKind.VIDEO, owner)


def test_foreign_video_key_is_forbidden_and_foreign_thumbnail_invalid():
    with pytest.raises(Forbidden):
        check_owned_key(f"videos/bob/{uuid.uuid4()}", MediaKind.VIDEO, "alice", field="k")
    with pytest.raises(ValidationFailed):
        check_owned_key(f"thumbnails/bob/{uuid.uuid4()}", MediaKind.THUMBNAIL, "alice", field="k")
    with pytest.raises(Forbidden):  # alice's prefix is not a prefix of "alice2"'s
        check_owned_key(f"videos/alice2/{uuid.uuid4()}", MediaKind.VIDEO, "alice", field="k")


@pytest.mark.parametrize("old", list(Status))
@pytest.mark.parametrize("new", list(Status))
def test_transitions_follow_the_contract(old, new):
    contract = {
        (Status.IN_PROGRESS, Status.COMPLETED), (Status.IN_PROGRESS, Status.FAILED),
        (Status.FAILED, Status.IN_PROGRESS), (Status.COMPLETED, Status.IN_PROGRESS),
    }
    assert can_move(old, new) == ((old, new) in contract)
    assert (new in allowed_from(old)) == ((old, new) in contract)


def test_only_completed_public_or_unlisted_videos_are_discoverable():
    discoverable = {(status, visibility) for status in Status for visibility in Visibility
                    if is_discoverable(status, visibility)}
    assert discoverable == {(Status.COMPLETED, Visibility.PUBLIC),
                            (Status.COMPLETED, Visibility.UNLISTED)}


def test_default_settings_have_no_problems():
    assert settings_problems(VideoSettings()) == []


@pytest.mark.parametrize("template", ["{key}", "{key}/index.m3u8", "hls/{key}/{{literal}}.m3u8"])
def test_templates_with_only_the_key_placeholder_are_fine(template):
    assert settings_problems(VideoSettings(playback_key_template=template)) == []


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True).filter(lambda text: len(text) <= 100))
def test_text_the_published_cursor_schema_allows_is_a_cursor_or_a_422(text):
    try:
        Cursor.decode(text)
    except ValidationFailed as exc:
        assert exc.errors[0]["field"] == "cursor"


@pytest.mark.parametrize("text", ["MTc2\n", "MTc2 OTk", "MTc2+OTk", "MTc2/OTk", "MTc2=", "é"])
def test_a_cursor_outside_the_base64url_alphabet_is_refused(text):
    with pytest.raises(ValidationFailed):
        Cursor.decode(text)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"cache_ttl_seconds": 0}, "cache_ttl_seconds"),
        ({"playback_url_ttl_seconds": 60, "cache_ttl_seconds": 60}, "playback_url_ttl_seconds"),
        ({"upload_url_ttl_seconds": 8 * 24 * 3600}, "upload_url_ttl_seconds"),
        ({"playback_key_template": "out/index.m3u8"}, "playback_key_template"),
        ({"playback_key_template": "{key}/{bogus}"}, "playback_key_template"),
        ({"playback_key_template": "{0}"}, "playback_key_template"),
        ({"playback_key_template": "{key"}, "playback_key_template"),
        ({"playback_key_template": "{key}}"}, "playback_key_template"),
        ({"playback_key_template": "{key!r}"}, "playback_key_template"),
        ({"playback_key_template": "{key.upper}/x"}, "playback_key_template"),
        ({"allowed_image_types": []}, "allowed_image_types"),
    ],
)
def test_unworkable_settings_are_named(changes, key):
    problems = settings_problems(VideoSettings(**changes))
    assert any(problem.startswith(f"plugins.video.{key}:") for problem in problems), problems
