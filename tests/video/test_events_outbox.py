"""Each change of a video writes exactly its event, in the transaction of the change
(core.events): a refused or rolled-back change leaves none."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from core.events import events_since
from plugins.video.library.service import RETRY_REASON
from tests.core.events_support import FAST, RecordingSink, SinksPlugin
from tests.video import workflow
from tests.video.support import TRANSCODER, run_in_app, user, wait_until
from tests.video.test_multipart import FIRST, LAST, _by_number, _complete, _created, _put

ALICE, BOB = user("alice"), user("bob")
SECRET_FIELDS = {"checksum", "checksum_algorithm", "playback_url", "thumbnail_url"}


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink("video-test")


@pytest.fixture
def client(make_video_client, sink):
    return make_video_client(plugins=[SinksPlugin(sink)], events=FAST)


def _events(client: Any, **filters: Any) -> list[Any]:
    return run_in_app(client, lambda: events_since(**filters))


def _new_events(client: Any, after: int) -> list[tuple[str, str]]:
    return [(event.type, event.subject) for event in _events(client, after_id=after)]


def _last_id(client: Any) -> int:
    events = _events(client)
    return events[-1].id if events else 0


def _register(client: Any, owner=ALICE, **fields: Any) -> dict[str, Any]:
    key = workflow.upload(client, owner)
    response = workflow.register(client, owner, key, **fields)
    assert response.status_code == 201, response.text
    return response.json()


def test_registering_records_video_created(client, sink):
    video = _register(client, title="First light")
    [event] = _events(client)
    assert (event.type, event.subject, event.owner_id) == ("video.created", video["id"], "alice")
    data = event.data
    assert data["id"] == video["id"] and data["title"] == "First light"
    assert data["processing_status"] == "IN_PROGRESS" and data["visibility"] == "PUBLIC"
    assert data["user_id"] == "alice" and data["version"] == 1
    assert not SECRET_FIELDS & set(data)
    assert wait_until(lambda: sink.ids == [event.id]), "delivered to the plugin's sink"


def test_a_refused_registration_records_nothing(client):
    key = workflow.upload(client, ALICE)
    assert workflow.register(client, ALICE, key).status_code == 201
    before = _last_id(client)
    # The insert fails on the unique key inside the transaction: it rolls back, event too.
    assert workflow.register(client, ALICE, key).status_code == 409
    assert _new_events(client, before) == []


def test_status_changes_record_their_move(client):
    video = _register(client)
    before = _last_id(client)
    assert workflow.set_status(client, TRANSCODER, video["id"], "FAILED", form="json",
                               failure_reason="codec").status_code == 200
    assert workflow.set_status(client, TRANSCODER, video["id"], "FAILED").status_code == 200
    assert workflow.set_status(client, TRANSCODER, video["id"],
                               "COMPLETED").status_code == 409
    assert workflow.retry(client, ALICE, video["id"]).status_code == 200
    events = _events(client, after_id=before)
    assert [(e.type, e.data["from"], e.data["to"], e.data["reason"]) for e in events] == [
        ("video.status_changed", "IN_PROGRESS", "FAILED", "codec"),
        ("video.status_changed", "FAILED", "IN_PROGRESS", RETRY_REASON),
    ]
    assert [e.data["version"] for e in events] == [2, 3]
    assert events[0].data["failure_reason"] == "codec"
    assert all(e.subject == video["id"] and e.owner_id == "alice" for e in events)


def test_edits_record_video_updated_with_the_fields_changed(client):
    video = _register(client)
    before = _last_id(client)
    assert workflow.edit_video(client, ALICE, video["id"], title="Renamed",
                               visibility="PRIVATE").status_code == 200
    assert workflow.edit_video(client, ALICE, video["id"], title="Renamed").status_code == 200
    assert workflow.edit_video(client, BOB, video["id"], title="Mine").status_code == 404
    [event] = _events(client, after_id=before)
    assert event.type == "video.updated" and event.subject == video["id"]
    assert event.data["changes"] == ["title", "visibility"]
    assert event.data["title"] == "Renamed" and event.data["visibility"] == "PRIVATE"


def test_deleting_records_video_deleted(client):
    video = _register(client)
    before = _last_id(client)
    assert workflow.delete_video(client, BOB, video["id"]).status_code == 404
    assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    assert workflow.delete_video(client, ALICE, video["id"]).status_code == 404
    [event] = _events(client, after_id=before)
    assert (event.type, event.subject, event.owner_id) == ("video.deleted", video["id"], "alice")
    assert event.data["title"] == video["title"]


def test_completing_a_multipart_upload_records_upload_completed(client):
    upload = _created(client)
    parts = _by_number(upload["parts"])
    assert _put(parts[1], FIRST).status_code == 200
    assert _put(parts[2], LAST).status_code == 200
    before = _last_id(client)
    assert _complete(client, upload["upload_id"]).status_code == 200
    assert _complete(client, upload["upload_id"]).status_code == 200  # a repeat: no event
    [event] = _events(client, after_id=before)
    assert (event.type, event.subject, event.owner_id) == (
        "upload.completed", upload["upload_id"], "alice")
    assert event.data == {"upload_id": upload["upload_id"], "video_s3_key": upload["s3_key"],
                          "content_type": "video/mp4", "size_bytes": len(FIRST) + len(LAST)}


def test_every_event_matches_a_change_that_exists(client):
    """No event without its change: each recorded version is one the video went through."""
    videos = [_register(client, owner) for owner in (ALICE, BOB, ALICE)]
    workflow.set_status(client, TRANSCODER, videos[0]["id"], "COMPLETED")
    workflow.edit_video(client, BOB, videos[1]["id"], title="Bob's")
    workflow.delete_video(client, ALICE, videos[2]["id"])
    events = _events(client)
    assert [(e.type, e.subject) for e in events] == [
        ("video.created", videos[0]["id"]), ("video.created", videos[1]["id"]),
        ("video.created", videos[2]["id"]), ("video.status_changed", videos[0]["id"]),
        ("video.updated", videos[1]["id"]), ("video.deleted", videos[2]["id"]),
    ]
    for event in events[3:5]:
        current = workflow.get_video(client, user(event.owner_id), event.subject).json()
        assert current["updated_at"].startswith(event.data["updated_at"][:19])


@pytest.mark.hooks("event_schemas")
def test_every_event_matches_the_schema_the_document_publishes(client):
    """What the outbox records is what `webhooks` in the OpenAPI document says, field for
    field (the schemas allow no other field)."""
    upload = _created(client)
    parts = _by_number(upload["parts"])
    assert _put(parts[1], FIRST).status_code == 200 and _put(parts[2], LAST).status_code == 200
    assert _complete(client, upload["upload_id"]).status_code == 200
    video = _register(client, title="Schema", description="Every field")
    workflow.set_status(client, TRANSCODER, video["id"], "FAILED", form="json",
                        failure_reason="codec")
    workflow.retry(client, ALICE, video["id"])
    workflow.edit_video(client, ALICE, video["id"], title="Schema, edited")
    workflow.delete_video(client, ALICE, video["id"])
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    for event in _events(client):
        envelope = document["webhooks"][event.type]["post"]["requestBody"]["content"][
            "application/json"]["schema"]
        data_schema = components[envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
        jsonschema.validate(event.data, data_schema,
                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    recorded = {event.type for event in _events(client)}
    assert recorded == {"upload.completed", "video.created", "video.status_changed",
                        "video.updated", "video.deleted"}
