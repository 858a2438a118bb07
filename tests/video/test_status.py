"""The transcoder's API: by-key lookups and status updates."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from plugins.video import queries
from plugins.video.states import Status
from tests.video import workflow
from tests.video.events import RecordingPlugin
from tests.video.support import TRANSCODER, insert_video, run_in_app, status_history, user

ALICE = user("alice")


def _new_video(client, owner=ALICE):
    key = workflow.upload(client, owner)
    created = workflow.register(client, owner, key)
    assert created.status_code == 201, created.text
    return created.json()


def _history(client, video_id):
    rows = run_in_app(client, lambda: status_history(uuid.UUID(video_id)))
    return [(row["from_status"], row["to_status"]) for row in rows]


def test_by_key_finds_keys_with_slashes_and_url_encoding(client):
    owner = user("dana smith+1@example.com")
    video = _new_video(client, owner)
    assert video["video_s3_key"].startswith("videos/dana smith+1@example.com/")
    for encode_slashes in (False, True):
        response = workflow.find_by_key(client, TRANSCODER, video["video_s3_key"],
                                        encode_slashes=encode_slashes)
        assert response.status_code == 200, response.text
        assert response.json() == {"video_id": video["id"], "checksum": None}


def test_by_key_matches_the_whole_key_only(client):
    odd_key = "videos/alice/deep/path/with%percent and space"
    insert_video(client, video_s3_key=odd_key)
    found = workflow.find_by_key(client, TRANSCODER, odd_key)
    assert found.status_code == 200, found.text
    for key in ("videos/alice/deep/path", "videos/alice/deep/path/with%percent", "nothing"):
        response = workflow.find_by_key(client, TRANSCODER, key)
        assert response.status_code == 404, key
        assert response.headers["content-type"] == "application/problem+json"


def test_the_transcoder_routes_need_a_service_principal(client):
    video = _new_video(client)
    by_key = workflow.by_key_path(video["video_s3_key"])
    status = f"/api/v1/upload/videos/{video['id']}/status?status=COMPLETED"
    for credentials in (workflow.ANONYMOUS, ALICE):
        assert client.get(by_key, **credentials.request_options()).status_code == 401
        assert client.patch(status, **credentials.request_options()).status_code == 401
    assert _history(client, video["id"]) == [(None, "IN_PROGRESS")]


# from, to, expected status (200 = moved or repeated, 409 = refused)
TRANSITIONS = [
    ("IN_PROGRESS", "COMPLETED", 200), ("IN_PROGRESS", "FAILED", 200),
    ("IN_PROGRESS", "IN_PROGRESS", 200), ("FAILED", "IN_PROGRESS", 200),
    ("FAILED", "FAILED", 200), ("FAILED", "COMPLETED", 409),
    ("COMPLETED", "IN_PROGRESS", 200), ("COMPLETED", "COMPLETED", 200),
    ("COMPLETED", "FAILED", 409),
]


def _allowed_from(status):
    return {"IN_PROGRESS": ["COMPLETED", "FAILED"], "FAILED": ["IN_PROGRESS"],
            "COMPLETED": ["IN_PROGRESS"]}[status]


def test_the_state_machine(client):
    for old, new, expected in TRANSITIONS:
        video_id = str(insert_video(client, processing_status=old, version=3))
        response = workflow.set_status(client, TRANSCODER, video_id, new, form="json")
        assert response.status_code == expected, (old, new, response.text)
        record = run_in_app(client, lambda v=video_id: queries.fetch(uuid.UUID(v)))
        if expected == 409:
            problem = response.json()
            assert problem["allowed"] == _allowed_from(old)
            assert problem["current_status"] == old
            assert ", ".join(_allowed_from(old)) in problem["detail"]
            assert (record.processing_status.value, record.version) == (old, 3)
        elif old == new:
            assert (record.processing_status.value, record.version) == (old, 3)
            assert _history(client, video_id) == []
        else:
            assert (record.processing_status.value, record.version) == (new, 4)
            assert _history(client, video_id) == [(old, new)]


@pytest.mark.hooks("on_status_changed")
def test_repeats_are_idempotent_and_fire_no_event(make_video_client):
    recorder = RecordingPlugin()
    client = make_video_client(plugins=[recorder])
    video = _new_video(client)
    for form in ("query", "json", "query"):
        response = workflow.set_status(client, TRANSCODER, video["id"], "COMPLETED", form=form)
        assert response.status_code == 200, response.text
        assert response.json()["processing_status"] == "COMPLETED"
    assert _history(client, video["id"]) == [(None, "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")]
    ((changed, old, new, principal),) = recorder.changed
    assert (old, new) == (Status.IN_PROGRESS, Status.COMPLETED)
    assert changed.processing_status is Status.COMPLETED and changed.version == 2
    assert principal.id == "transcoder"


def test_json_form_carries_failure_reason_and_duration(client):
    video = _new_video(client)
    failed = workflow.set_status(client, TRANSCODER, video["id"], "FAILED", form="json",
                                 failure_reason="codec not supported")
    assert failed.json()["failure_reason"] == "codec not supported"
    retried = workflow.set_status(client, TRANSCODER, video["id"], "IN_PROGRESS")
    assert retried.json()["failure_reason"] is None
    done = workflow.set_status(client, TRANSCODER, video["id"], "COMPLETED", form="json",
                               duration_seconds=12.5)
    assert done.json()["duration_seconds"] == 12.5
    rows = run_in_app(client, lambda: status_history(uuid.UUID(video["id"])))
    assert [(row["to_status"], row["reason"], row["changed_by"]) for row in rows] == [
        ("IN_PROGRESS", None, "user:alice"),
        ("FAILED", "codec not supported", "service:transcoder"),
        ("IN_PROGRESS", None, "service:transcoder"),
        ("COMPLETED", None, "service:transcoder"),
    ]


INVALID_UPDATES = [
    ({"status": "DONE"}, None, "status"),
    ({"status": "completed"}, None, "status"),
    ({}, None, "status"),
    ({}, {"status": "DONE"}, "status"),
    ({}, {"status": "FAILED", "duration_seconds": -1}, "duration_seconds"),
    ({}, {"status": "FAILED", "failure_reason": "x" * 2001}, "failure_reason"),
    ({"status": "FAILED"}, {"status": "COMPLETED"}, "status"),
]


def test_invalid_status_updates_are_422(client):
    video_id = insert_video(client, processing_status="IN_PROGRESS")
    for query, body, field in INVALID_UPDATES:
        kwargs = {"json": body} if body is not None else {}
        response = client.patch(f"/api/v1/upload/videos/{video_id}/status", params=query,
                                **kwargs, **TRANSCODER.request_options())
        assert response.status_code == 422, (query, body, response.text)
        assert [error["field"] for error in response.json()["errors"]] == [field]
    assert _history(client, str(video_id)) == []


def test_unknown_video_is_404(client):
    response = workflow.set_status(client, TRANSCODER, str(uuid.uuid4()), "COMPLETED")
    assert response.status_code == 404


def test_concurrent_updates_never_lose_one(make_video_client):
    recorder = RecordingPlugin()
    client = make_video_client(plugins=[recorder])
    video_id = str(insert_video(client, processing_status="IN_PROGRESS"))
    wanted = ["COMPLETED", "FAILED", "IN_PROGRESS"] * 8

    def send(status):
        return workflow.set_status(client, TRANSCODER, video_id, status).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(send, wanted))
    assert set(codes) <= {200, 409}, codes
    history = _history(client, video_id)
    record = run_in_app(client, lambda: queries.fetch(uuid.UUID(video_id)))
    # An unbroken chain: every transition starts where the previous one ended.
    current = "IN_PROGRESS"
    for old, new in history:
        assert old == current, history
        current = new
    assert record.processing_status.value == current
    assert record.version == 1 + len(history)
    assert sorted((old.value, new.value) for _, old, new, _ in recorder.changed) == sorted(history)
