"""The transcoder contract v2: progress reports and failure codes."""

from __future__ import annotations

import jsonschema

from tests.video import workflow
from tests.video.support import TRANSCODER, insert_video, problem_fields, user
from tests.video.transcoding import events_of, progress, report

ALICE, BOB = user("alice"), user("bob")


def _in_progress(client):
    return insert_video(client, processing_status="IN_PROGRESS", visibility="PUBLIC")


def test_progress_is_stored_shown_to_the_owner_and_recorded_as_an_event(client):
    video_id = _in_progress(client)
    answered = progress(client, video_id, 40, "transcoding", eta_seconds=30)
    assert answered.status_code == 200, answered.text
    assert (answered.json()["progress"], answered.json()["stage"],
            answered.json()["eta_seconds"]) == (40, "transcoding", 30)
    seen = workflow.get_video(client, ALICE, str(video_id)).json()
    assert (seen["processing_status"], seen["progress"], seen["stage"],
            seen["eta_seconds"]) == ("IN_PROGRESS", 40, "transcoding", 30)
    (mine,) = workflow.list_mine(client, ALICE).json()
    assert mine["progress"] == 40
    (event,) = events_of(client, video_id, "video.progress")
    assert event.owner_id == "alice"
    assert (event.data["progress"], event.data["stage"], event.data["eta_seconds"]) == (
        40, "transcoding", 30)


def test_others_never_see_progress(client):
    video_id = _in_progress(client)
    assert progress(client, video_id, 70).status_code == 200
    # a video in progress is the owner's alone; once completed its progress is cleared
    assert workflow.get_video(client, BOB, str(video_id)).status_code == 404
    assert workflow.get_video(client, workflow.ANONYMOUS, str(video_id)).status_code == 404
    assert workflow.set_status(client, TRANSCODER, str(video_id), "COMPLETED").status_code == 200
    for viewer in (workflow.ANONYMOUS, BOB, ALICE):
        shown = workflow.get_video(client, viewer, str(video_id)).json()
        assert (shown["progress"], shown["stage"], shown["eta_seconds"]) == (None, None, None)
    (listed,) = workflow.list_public(client, workflow.ANONYMOUS).json()
    assert listed["progress"] is None and listed["failure_code"] is None


def test_progress_never_goes_back_within_a_stage(client):
    video_id = _in_progress(client)
    assert progress(client, video_id, 60).json()["progress"] == 60
    late = progress(client, video_id, 20)
    assert late.status_code == 200 and late.json()["progress"] == 60
    assert progress(client, video_id, 60).status_code == 200  # a repeat: no new event
    assert len(events_of(client, video_id, "video.progress")) == 1
    # a new stage starts from its own beginning
    assert progress(client, video_id, 5, "packaging").json()["progress"] == 5
    assert len(events_of(client, video_id, "video.progress")) == 2


def test_progress_on_a_video_not_in_progress_is_a_conflict(client):
    for status in ("COMPLETED", "FAILED"):
        video_id = insert_video(client, processing_status=status)
        refused = progress(client, video_id, 10)
        assert refused.status_code == 409, refused.text
        assert refused.json()["current_status"] == status
        assert events_of(client, video_id, "video.progress") == []


def test_progress_fields_are_validated(client):
    video_id = _in_progress(client)
    cases = [
        ({"progress": 101, "stage": "transcoding"}, "progress"),
        ({"progress": -1, "stage": "transcoding"}, "progress"),
        ({"progress": 5, "stage": "Not An Identifier"}, "stage"),
        ({"progress": 5, "stage": "x" * 40}, "stage"),
        ({"progress": 5, "stage": "transcoding", "eta_seconds": -3}, "eta_seconds"),
        ({"stage": "transcoding"}, "progress"),
        ({"progress": 5}, "stage"),
    ]
    for fields, field in cases:
        answered = report(client, video_id, {"status": "IN_PROGRESS", **fields})
        assert field in problem_fields(answered), (fields, answered.text)
    done = report(client, video_id, {"status": "COMPLETED", "progress": 100, "stage": "x"})
    assert problem_fields(done) == ["progress"]


def test_the_seed_flow_still_clears_progress_and_works_unchanged(client):
    video_id = _in_progress(client)
    assert progress(client, video_id, 50).status_code == 200
    seed = workflow.set_status(client, TRANSCODER, str(video_id), "COMPLETED")
    assert seed.status_code == 200, seed.text
    assert seed.json()["processing_status"] == "COMPLETED" and seed.json()["progress"] is None


def test_failure_codes_are_validated_stored_and_shown(client):
    video_id = _in_progress(client)
    unknown = report(client, video_id, {"status": "FAILED", "failure_code": "gremlins"})
    assert problem_fields(unknown) == ["failure_code"]
    misplaced = report(client, video_id, {"status": "COMPLETED", "failure_code": "timeout"})
    assert problem_fields(misplaced) == ["failure_code"]
    failed = report(client, video_id, {"status": "FAILED", "failure_code": "unsupported_codec",
                                       "failure_reason": "HEVC 4:4:4 is not supported"})
    assert failed.status_code == 200, failed.text
    shown = workflow.get_video(client, ALICE, str(video_id)).json()
    assert (shown["failure_code"], shown["failure_reason"]) == (
        "unsupported_codec", "HEVC 4:4:4 is not supported")
    (event,) = events_of(client, video_id, "video.status_changed")
    assert event.data["failure_code"] == "unsupported_codec"
    # a retry clears the code
    retried = workflow.set_status(client, TRANSCODER, str(video_id), "IN_PROGRESS")
    assert retried.json()["failure_code"] is None


def test_a_failure_without_a_code_keeps_the_v1_shape(client):
    video_id = _in_progress(client)
    failed = report(client, video_id, {"status": "FAILED", "failure_reason": "broken"})
    assert failed.status_code == 200
    assert (failed.json()["failure_code"], failed.json()["failure_reason"]) == (None, "broken")


def test_progress_events_match_the_schema_the_document_publishes(client):
    video_id = _in_progress(client)
    assert progress(client, video_id, 10, "thumbnail").status_code == 200
    assert progress(client, video_id, 20, "thumbnail", eta_seconds=4).status_code == 200
    document = client.get("/openapi.json").json()
    envelope = document["webhooks"]["video.progress"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    schema = document["components"]["schemas"][
        envelope["properties"]["data"]["$ref"].rsplit("/", 1)[1]]
    for event in events_of(client, video_id, "video.progress"):
        jsonschema.validate(event.data, schema,
                            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
