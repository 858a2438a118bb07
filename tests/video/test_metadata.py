"""POST metadata: what it creates, and every rejection."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import attrs
import httpx
import pytest

from plugins.video import queries
from tests.video import workflow
from tests.video.events import FailingListenerPlugin, RecordingPlugin
from tests.video.support import TRANSCODER, insert_video, run_in_app, status_history, user

ALICE, BOB = user("alice"), user("bob")


def _errors(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


@pytest.mark.hooks("on_video_created")
def test_creates_the_video_in_progress_with_a_history_row_and_an_event(make_video_client):
    recorder = RecordingPlugin()
    client = make_video_client(plugins=[recorder])
    key = workflow.upload(client, ALICE, b"x" * 321)
    response = workflow.register(client, ALICE, key, title="  Trimmed  ", description="About",
                                 visibility="UNLISTED")
    assert response.status_code == 201, response.text
    video = response.json()
    assert video["title"] == "Trimmed"
    assert video["description"] == "About"
    assert (video["visibility"], video["processing_status"]) == ("UNLISTED", "IN_PROGRESS")
    assert (video["user_id"], video["video_s3_key"], video["thumbnail_s3_key"]) == (
        "alice", key, None)
    assert video["playback_url"] is None and video["thumbnail_url"] is None
    video_id = uuid.UUID(video["id"])
    record = run_in_app(client, lambda: queries.fetch(video_id))
    assert (record.size_bytes, record.content_type, record.version) == (321, "video/mp4", 1)
    history = run_in_app(client, lambda: status_history(video_id))
    assert [(row["from_status"], row["to_status"], row["changed_by"]) for row in history] == [
        (None, "IN_PROGRESS", "user:alice")]
    assert [created.id for created in recorder.created] == [video_id]


def test_a_failing_listener_does_not_fail_the_request(make_video_client):
    client = make_video_client(plugins=[FailingListenerPlugin()])
    key = workflow.upload(client, ALICE)
    created = workflow.register(client, ALICE, key)
    assert created.status_code == 201, created.text
    video_id = created.json()["id"]
    assert workflow.set_status(client, TRANSCODER, video_id, "COMPLETED").status_code == 200
    assert workflow.get_video(client, workflow.ANONYMOUS, video_id).status_code == 200


def test_with_a_thumbnail_the_completed_video_has_a_working_thumbnail_url(client):
    video_key = workflow.upload(client, ALICE)
    thumb_key = workflow.upload(client, ALICE, b"\xff\xd8 jpeg", thumbnail=True,
                                content_type="image/jpeg")
    created = workflow.register(client, ALICE, video_key, thumbnail_key=thumb_key)
    assert created.status_code == 201, created.text
    assert created.json()["thumbnail_s3_key"] == thumb_key
    video_id = created.json()["id"]
    workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")
    seen = workflow.get_video(client, workflow.ANONYMOUS, video_id).json()
    assert httpx.get(seen["thumbnail_url"], timeout=10).content == b"\xff\xd8 jpeg"


def test_a_key_under_another_users_prefix_is_forbidden(client):
    key = workflow.upload(client, ALICE)
    response = workflow.register(client, BOB, key)
    assert response.status_code == 403, response.text
    assert "video_s3_key" in response.json()["detail"]


def test_a_key_with_nothing_uploaded_is_a_conflict(client):
    response = workflow.register(client, ALICE, f"videos/alice/{uuid.uuid4()}")
    assert response.status_code == 409, response.text


def test_an_object_over_the_size_limit_is_refused(make_video_client):
    client = make_video_client({"max_video_bytes": 100})
    answer = workflow.request_upload_url(client, ALICE).json()  # no declared size
    assert workflow.put_file(answer, b"v" * 101).status_code == 200
    assert _errors(workflow.register(client, ALICE, answer["media_id"])) == ["video_s3_key"]


def test_an_object_of_a_type_not_allowed_is_refused(client, s3):
    key = f"videos/alice/{uuid.uuid4()}"
    s3.put_object(Bucket="itube-raw-videos", Key=key, Body=b"#!/bin/sh", ContentType="text/x-sh")
    assert _errors(workflow.register(client, ALICE, key)) == ["video_s3_key"]


def test_a_key_registered_twice_is_a_conflict(client):
    key = workflow.upload(client, ALICE)
    assert workflow.register(client, ALICE, key).status_code == 201
    again = workflow.register(client, ALICE, key, title="Again")
    assert again.status_code == 409, again.text


def test_concurrent_registrations_of_one_key_make_one_video(client):
    key = workflow.upload(client, ALICE)
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = sorted(pool.map(lambda _: workflow.register(client, ALICE, key).status_code,
                                range(6)))
    assert codes == [201] + [409] * 5


def test_the_unique_index_is_the_last_word_on_duplicates(client):
    """Two inserts that both passed the existence check: the second is DuplicateKey on
    either engine (asyncpg's and sqlite3's errors both map to it)."""
    video_id = insert_video(client)
    record = run_in_app(client, lambda: queries.fetch(video_id))
    twin = attrs.evolve(record, id=uuid.uuid4())
    with pytest.raises(queries.DuplicateKey):
        run_in_app(client, lambda: queries.insert_video(twin, "user:alice"))
    assert run_in_app(client, lambda: queries.fetch(twin.id)) is None


INVALID_FIELDS = [
    ({"title": "   "}, ["title"]),
    ({"title": "t" * 201}, ["title"]),
    ({"title": 42}, ["title"]),
    ({"description": "d" * 5001}, ["description"]),
    ({"visibility": "SECRET"}, ["visibility"]),
    ({"visibility": None}, ["visibility"]),
    ({"title": "", "visibility": "nope"}, ["title", "visibility"]),
    ({"thumbnail_s3_key": "thumbnails/bob/" + str(uuid.uuid4())}, ["thumbnail_s3_key"]),
    ({"thumbnail_s3_key": "thumbnails/alice/not-a-uuid"}, ["thumbnail_s3_key"]),
    ({"thumbnail_s3_key": f"thumbnails/alice/{uuid.uuid4()}"}, ["thumbnail_s3_key"]),
    ({"thumbnail_s3_key": "videos/alice/x"}, ["thumbnail_s3_key"]),
]
MALFORMED_VIDEO_KEYS = [
    "videos/alice/not-a-uuid",
    "videos/alice/../bob/" + str(uuid.uuid4()),
    "videos/alice/" + str(uuid.uuid4()) + "/extra",
    "videos/alice/\x00" + str(uuid.uuid4()),
]


def test_invalid_fields_are_422_naming_each_field(client):
    key = workflow.upload(client, ALICE)
    for changes, fields in INVALID_FIELDS:
        body = {"title": "ok", "description": "", "video_s3_key": key, "visibility": "PUBLIC",
                **changes}
        response = client.post("/api/v1/upload/videos/metadata", json=body,
                               **ALICE.request_options())
        assert sorted(_errors(response)) == fields, changes
    # None of them created anything: the key is still free.
    assert workflow.register(client, ALICE, key).status_code == 201


def test_malformed_video_keys_are_422(client):
    for key in MALFORMED_VIDEO_KEYS:
        assert _errors(workflow.register(client, ALICE, key)) == ["video_s3_key"], key


def test_a_thumbnail_of_a_type_not_allowed_is_refused(client, s3):
    video_key = workflow.upload(client, ALICE)
    thumb_key = f"thumbnails/alice/{uuid.uuid4()}"
    s3.put_object(Bucket="itube-video-thumbnails", Key=thumb_key, Body=b"GIF89a",
                  ContentType="image/gif")
    response = workflow.register(client, ALICE, video_key, thumbnail_key=thumb_key)
    assert _errors(response) == ["thumbnail_s3_key"]


def test_missing_required_fields_are_listed(client):
    response = client.post("/api/v1/upload/videos/metadata", json={},
                           **ALICE.request_options())
    assert sorted(_errors(response)) == ["title", "video_s3_key", "visibility"]


def test_metadata_must_be_json_from_a_signed_in_user(client):
    key = workflow.upload(client, ALICE)
    assert workflow.register(client, workflow.ANONYMOUS, key).status_code == 401
    form = {**ALICE.headers, "Content-Type": "application/x-www-form-urlencoded"}
    as_form = client.post("/api/v1/upload/videos/metadata", content=b"title=x", headers=form)
    assert as_form.status_code == 415
    # A service credential does not open a user route.
    assert workflow.register(client, TRANSCODER, key).status_code == 401
