"""Text the database cannot store, or a person could be fooled by, never reaches a query:
a 422 naming the field (or a 404 for a key in the path), on both databases."""

from __future__ import annotations

import asyncio
import uuid
from unittest import mock

import pytest

from plugins.video import queries
from plugins.video.tables import Video
from tests.video import workflow
from tests.video.support import TRANSCODER, insert_video, run_in_app, user

ALICE = user("alice")
PREFIX = "/api/v1/upload/videos"
# NUL (no PostgreSQL text can hold it), other C0 and C1 controls, DEL.
CONTROLS = ["\x00", "\x01", "\x1b[31m", "\x7f", "\x85", "\r"]
# Embeddings, overrides and isolates: they reorder what a reader sees.
BIDI = ["\u202e", "\u2066", "\u202a"]


def _fields(response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


def _metadata(client, key, **changes):
    body = {"title": "ok", "description": "", "video_s3_key": key, "visibility": "PUBLIC",
            **changes}
    return client.post(f"{PREFIX}/metadata", json=body, **ALICE.request_options())


@pytest.mark.parametrize("bad", CONTROLS + BIDI)
def test_a_title_with_control_or_bidi_characters_is_422(client, bad):
    key = workflow.upload(client, ALICE)
    assert _fields(_metadata(client, key, title=f"My {bad}video")) == ["title"]
    assert not run_in_app(client, lambda: queries.key_exists(key))


@pytest.mark.parametrize("bad", CONTROLS)
def test_a_description_with_control_characters_is_422(client, bad):
    key = workflow.upload(client, ALICE)
    assert _fields(_metadata(client, key, description=f"About {bad}this")) == ["description"]


def test_a_description_keeps_newlines_tabs_and_right_to_left_text(client):
    key = workflow.upload(client, ALICE)
    description = "Line one\n\tindented\nשלום \u2067عربى\u2069 done"
    created = _metadata(client, key, description=description)
    assert created.status_code == 201, created.text
    record = run_in_app(client, lambda: queries.fetch(uuid.UUID(created.json()["id"])))
    assert record.description == description


@pytest.mark.parametrize("field", ["video_s3_key", "thumbnail_s3_key"])
@pytest.mark.parametrize("bad", ["\x00", "\x01", "\x85", "\u202e"])
def test_keys_with_control_or_bidi_characters_are_422(client, field, bad):
    key = workflow.upload(client, ALICE)
    kind = "videos" if field == "video_s3_key" else "thumbnails"
    changes = {field: f"{kind}/alice/{bad}{uuid.uuid4()}"}
    assert _fields(_metadata(client, key, **changes)) == [field]


@pytest.mark.parametrize("bad", CONTROLS)
def test_a_failure_reason_with_control_characters_is_422(client, bad):
    video_id = insert_video(client, processing_status="IN_PROGRESS")
    response = workflow.set_status(client, TRANSCODER, str(video_id), "FAILED", form="json",
                                   failure_reason=f"codec {bad}unknown")
    assert _fields(response) == ["failure_reason"]
    record = run_in_app(client, lambda: queries.fetch(video_id))
    assert record.processing_status.value == "IN_PROGRESS"


def test_a_failure_reason_keeps_newlines_and_tabs(client):
    video_id = insert_video(client, processing_status="IN_PROGRESS")
    reason = "ffmpeg said:\n\tmoov atom not found"
    response = workflow.set_status(client, TRANSCODER, str(video_id), "FAILED", form="json",
                                   failure_reason=reason)
    assert response.status_code == 200, response.text
    assert run_in_app(client, lambda: queries.fetch(video_id)).failure_reason == reason


def _queries_made(client, request):
    """Send `request()` while counting the statements the app's database engine runs
    (engines have slots: the method is wrapped on the class, for the duration)."""
    engine_class = type(Video._meta.db)
    original = engine_class.run_querystring
    statements = []

    async def counting(self, *args, **kwargs):
        task = asyncio.current_task()
        if task is None or not task.get_name().startswith("events:"):  # not the dispatcher's
            statements.append(args)
        return await original(self, *args, **kwargs)

    with mock.patch.object(engine_class, "run_querystring", counting):
        response = request()
    return response, len(statements)


@pytest.mark.parametrize("bad", ["%00", "%01", "%1B", "%7F", "%C2%85", "%E2%80%AE"])
def test_a_key_with_control_characters_is_unknown_without_a_query(client, bad):
    path = f"{PREFIX}/by-key/videos/alice/{bad}{uuid.uuid4()}"
    response, statements = _queries_made(
        client, lambda: client.get(path, **TRANSCODER.request_options()))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert statements == 0


def test_a_key_longer_than_any_stored_is_unknown_without_a_query(client):
    path = f"{PREFIX}/by-key/videos/alice/{'k' * 1100}"
    response, statements = _queries_made(
        client, lambda: client.get(path, **TRANSCODER.request_options()))
    assert response.status_code == 404, response.text
    assert statements == 0


def test_a_well_formed_key_is_still_looked_up(client):
    video_id = insert_video(client, video_s3_key="videos/alice/plain key")
    response, statements = _queries_made(
        client, lambda: workflow.find_by_key(client, TRANSCODER, "videos/alice/plain key"))
    assert response.json() == {"video_id": str(video_id), "checksum": None}
    assert statements == 1


@pytest.mark.parametrize("path", [f"{PREFIX}/", f"{PREFIX}/mine"])
@pytest.mark.parametrize("cursor", ["\x00", "MTc2\x00OTk", "\u202eMTc2", "MTc2 OTk"])
def test_a_cursor_with_odd_characters_is_422_without_a_query(client, path, cursor):
    response, statements = _queries_made(
        client, lambda: client.get(path, params={"cursor": cursor}, **ALICE.request_options()))
    assert _fields(response) == ["cursor"]
    assert statements == 0


@pytest.mark.parametrize("status", ["\x00", "COMPLETED\x00", "\u202eCOMPLETED"])
def test_a_status_query_with_odd_characters_is_422(client, status):
    video_id = insert_video(client, processing_status="IN_PROGRESS")
    response = client.patch(f"{PREFIX}/{video_id}/status", params={"status": status},
                            **TRANSCODER.request_options())
    assert _fields(response) == ["status"]


@pytest.mark.parametrize("bad", ["a%00b", "%1B", "a%C2%85"])
def test_a_user_id_filter_with_control_characters_is_422(client, bad):
    response, statements = _queries_made(
        client, lambda: client.get(f"{workflow.PREFIX}/?user_id={bad}"))
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["user_id"]
    assert statements == 0
