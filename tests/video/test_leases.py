"""The transcoder contract v2: leases on a video's processing."""

from __future__ import annotations

import datetime as dt
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from plugins.video.transcoder import EMPTY_UPLOAD, Lease, LeaseLost, TranscoderExample
from tests.video import workflow
from tests.video.support import (
    TRANSCODER,
    insert_video,
    run_in_app,
    status_history,
    user,
    wait_until,
)
from tests.video.transcoding import claim, events_of, heartbeat, progress, report

ALICE = user("alice")
# A lease that ends quickly, swept often: expiry is waited for, never slept through.
SHORT_LEASES = {"lease_seconds": 0.3, "lease_sweep_seconds": 0.05, "lease_max_attempts": 2}


def _in_progress(client):
    return insert_video(client, processing_status="IN_PROGRESS")


def _history(client, video_id):
    rows = run_in_app(client, lambda: status_history(uuid.UUID(str(video_id))))
    return [(row["from_status"], row["to_status"], row["changed_by"], row["reason"])
            for row in rows]


def _shown(client, video_id):
    return workflow.get_video(client, ALICE, str(video_id)).json()


def test_a_claim_gives_a_token_and_a_second_claim_is_refused(client):
    video_id = _in_progress(client)
    claimed = claim(client, video_id)
    assert claimed.status_code == 201, claimed.text
    lease = claimed.json()
    assert set(lease) == {"lease_token", "expires_at", "attempt"} and lease["attempt"] == 1
    expires_at = dt.datetime.fromisoformat(lease["expires_at"])
    assert 290 < (expires_at - dt.datetime.now(dt.UTC)).total_seconds() <= 300
    again = claim(client, video_id)
    assert again.status_code == 409, again.text
    assert dt.datetime.fromisoformat(again.json()["lease_expires_at"]) == expires_at
    assert lease["lease_token"] not in again.text


def test_only_a_video_in_progress_can_be_leased(client):
    for status in ("COMPLETED", "FAILED"):
        refused = claim(client, insert_video(client, processing_status=status))
        assert refused.status_code == 409 and refused.json()["current_status"] == status
    assert claim(client, uuid.uuid4()).status_code == 404
    owner = workflow.Credentials(headers={"X-Test-User": "alice"})
    anonymous = client.post(f"{workflow.PREFIX}/{uuid.uuid4()}/lease",
                            **owner.request_options())
    assert anonymous.status_code == 401


def test_the_token_is_stored_hashed(client):
    from plugins.video import queries

    video_id = _in_progress(client)
    token = claim(client, video_id).json()["lease_token"]
    stored = run_in_app(client, lambda: queries.fetch(video_id))
    assert stored.lease_token_hash is not None and token not in stored.lease_token_hash


def test_a_heartbeat_extends_the_lease(client):
    video_id = _in_progress(client)
    lease = claim(client, video_id).json()
    extended = heartbeat(client, video_id, lease["lease_token"])
    assert extended.status_code == 200, extended.text
    assert extended.json()["expires_at"] > lease["expires_at"]
    assert extended.json()["attempt"] == 1
    assert heartbeat(client, video_id, "not-the-token").status_code == 409
    missing = heartbeat(client, video_id, None)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "Lease-Token"


def test_reports_under_a_live_lease_need_its_token(client):
    video_id = _in_progress(client)
    token = claim(client, video_id).json()["lease_token"]
    for body in ({"status": "COMPLETED"}, {"status": "IN_PROGRESS", "progress": 5,
                                            "stage": "transcoding"}):
        assert report(client, video_id, body).status_code == 409
        assert report(client, video_id, body, token="wrong").status_code == 409
    seed = workflow.set_status(client, TRANSCODER, str(video_id), "COMPLETED")
    assert seed.status_code == 409 and "Lease-Token" in seed.json()["detail"]
    assert progress(client, video_id, 50, token=token).status_code == 200
    done = report(client, video_id, {"status": "COMPLETED"}, token=token)
    assert done.status_code == 200, done.text
    # the lease ended with the status change: its token speaks no more, and none is needed
    assert heartbeat(client, video_id, token).status_code == 409
    assert workflow.set_status(client, TRANSCODER, str(video_id), "COMPLETED").status_code == 200


def test_a_report_with_a_token_and_no_lease_is_refused(client):
    video_id = _in_progress(client)
    refused = report(client, video_id, {"status": "COMPLETED"}, token="made-up")
    assert refused.status_code == 409
    assert _shown(client, video_id)["processing_status"] == "IN_PROGRESS"


def test_without_a_lease_the_v1_flow_is_unchanged(client):
    video_id = _in_progress(client)
    for status in ("COMPLETED", "IN_PROGRESS", "FAILED", "IN_PROGRESS", "COMPLETED"):
        answered = workflow.set_status(client, TRANSCODER, str(video_id), status)
        assert answered.status_code == 200, answered.text
    assert [row[:2] for row in _history(client, video_id)][-1] == ("IN_PROGRESS", "COMPLETED")


def test_two_concurrent_claims_one_wins(client):
    for _ in range(3):
        video_id = _in_progress(client)
        with ThreadPoolExecutor(max_workers=6) as pool:
            answers = list(pool.map(lambda target: claim(client, target), [video_id] * 6))
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201, 409, 409, 409, 409, 409], [a.text for a in answers]


def test_the_sweep_releases_an_expired_lease_then_fails_the_video(make_video_client):
    client = make_video_client(settings=SHORT_LEASES)
    video_id = _in_progress(client)
    first = claim(client, video_id).json()
    assert progress(client, video_id, 30, token=first["lease_token"]).status_code == 200
    assert wait_until(lambda: any(row[3] == "lease_expired"
                                  for row in _history(client, video_id)))
    released = _history(client, video_id)[-1]
    assert released == ("IN_PROGRESS", "IN_PROGRESS", "system", "lease_expired")
    shown = _shown(client, video_id)
    assert (shown["processing_status"], shown["progress"]) == ("IN_PROGRESS", None)
    expired = report(client, video_id, {"status": "COMPLETED"}, token=first["lease_token"])
    assert expired.status_code == 409
    (event,) = events_of(client, video_id, "video.status_changed")
    assert (event.data["from"], event.data["to"], event.data["reason"]) == (
        "IN_PROGRESS", "IN_PROGRESS", "lease_expired")

    second = claim(client, video_id)
    assert second.status_code == 201 and second.json()["attempt"] == 2
    assert wait_until(lambda: _shown(client, video_id)["processing_status"] == "FAILED")
    failed = _shown(client, video_id)
    assert failed["failure_code"] == "lease_expired"
    assert _history(client, video_id)[-1] == ("IN_PROGRESS", "FAILED", "system",
                                              "lease_expired")
    assert claim(client, video_id).status_code == 409
    # a retry starts counting leases afresh
    assert workflow.set_status(client, TRANSCODER, str(video_id), "IN_PROGRESS").status_code == 200
    assert claim(client, video_id).json()["attempt"] == 1


def test_a_claim_ends_an_expired_lease_itself(make_video_client):
    client = make_video_client(settings={**SHORT_LEASES, "lease_sweep_seconds": 0})
    video_id = _in_progress(client)
    assert claim(client, video_id).status_code == 201
    answers = []

    def claimed() -> bool:
        # a claim while the lease is live is a 409 that changes nothing; the first after
        # its end ends it (released, attempt 1 of 2) and claims anew
        if not answers or answers[-1].status_code != 201:
            answers.append(claim(client, video_id))
        return answers[-1].status_code == 201

    assert wait_until(claimed)
    assert {answer.status_code for answer in answers[:-1]} <= {409}
    assert answers[-1].json()["attempt"] == 2
    assert _history(client, video_id)[-1] == ("IN_PROGRESS", "IN_PROGRESS", "system",
                                              "lease_expired")


def test_an_expired_lease_no_longer_binds_reports(make_video_client):
    client = make_video_client(settings={**SHORT_LEASES, "lease_sweep_seconds": 0})
    video_id = _in_progress(client)
    token = claim(client, video_id).json()["lease_token"]
    # the token reports while the lease lives; after its end it is refused, and a report
    # without a token follows the v1 flow
    assert wait_until(lambda: progress(client, video_id, 10, token=token).status_code == 409)
    assert workflow.set_status(client, TRANSCODER, str(video_id), "COMPLETED").status_code == 200
    assert claim(client, video_id).status_code == 409  # COMPLETED: nothing to lease


class _AsTranscoder(httpx.Auth):
    """The stand-in service auth, as the example transcoder's `auth`."""

    def auth_flow(self, request):
        request.headers.update(TRANSCODER.headers)
        yield request


def test_the_example_transcoder_works_under_a_lease(client):
    from plugins.video import queries

    lines: list[str] = []
    example = TranscoderExample(client, None, "", auth=_AsTranscoder(), out=lines.append)
    empty = _in_progress(client)
    record = {"s3": {"object": {"key": f"videos/alice/{empty}", "size": 0}}}
    assert example.handle_record(record) == "failed", lines
    shown = _shown(client, empty)
    assert (shown["failure_code"], shown["failure_reason"]) == ("empty_upload", EMPTY_UPLOAD)
    (reported,) = events_of(client, empty, "video.progress")
    assert (reported.data["stage"], reported.data["attempt"]) == ("checking", 1)
    assert heartbeat(client, empty, "anything").status_code == 409  # the lease ended

    # past half its lease, the example heartbeats before going on
    video_id = _in_progress(client)
    token = claim(client, video_id).json()["lease_token"]
    before = run_in_app(client, lambda: queries.fetch(video_id)).lease_expires_at
    example.lease = Lease(str(video_id), token, seconds=0.0)
    example.keep_lease()
    after = run_in_app(client, lambda: queries.fetch(video_id)).lease_expires_at
    assert after > before
    example.lease = Lease(str(video_id), "not-the-token", seconds=0.0)
    with pytest.raises(LeaseLost):
        example.keep_lease()
