"""Deleting a video: gone at once, its S3 objects removed by the worker, its key refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import uuid
from pathlib import Path
from typing import Any

import attrs
import boto3
import pytest
from botocore.config import Config as BotoConfig
from starlette.testclient import TestClient

from core.app import create_app
from core.cli import main
from core.plugins import hookimpl
from plugins.video import queries as video_queries
from plugins.video.deletion import queries
from plugins.video.deletion.worker import DeletionWorker, deletions, retry_delay
from plugins.video.tables import VideoDeletion
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import (
    TRANSCODER,
    command_config,
    run_in_app,
    status_history,
    user,
    wait_until,
)

ALICE = user("alice")
BOB = user("bob")
RAW, PROCESSED, THUMBNAILS = "itube-raw-videos", "itube-processed-videos", "itube-video-thumbnails"
# The app's own worker stays off unless a test turns it on: each test runs the jobs itself.
NO_BACKGROUND_WORKER = {"deletion_poll_seconds": 0}


class RecordingDeletions:
    def __init__(self) -> None:
        self.deleted: list[tuple[Any, Any]] = []

    @hookimpl
    def on_video_deleted(self, ctx: Any, video: Any, principal: Any) -> Any:
        async def record() -> None:
            self.deleted.append((video, principal))

        return record()


@pytest.fixture
def client(make_video_client) -> TestClient:
    return make_video_client(NO_BACKGROUND_WORKER)


def completed_video(client: TestClient, owner: Any = ALICE, *, thumbnail: str | None = None
                    ) -> dict[str, Any]:
    """An uploaded, registered, COMPLETED video whose processed outputs are in S3."""
    key = workflow.upload(client, owner)
    created = workflow.register(client, owner, key, thumbnail_key=thumbnail)
    assert created.status_code == 201, created.text
    video = created.json()
    done = workflow.set_status(client, TRANSCODER, video["id"], "COMPLETED")
    assert done.status_code == 200, done.text
    return video


def processed_outputs(s3: Any, key: str) -> list[str]:
    """The transcoder's outputs: the playback object and an HLS rendition under the key."""
    outputs = [key, f"{key}/index.m3u8", f"{key}/720p/segment-0001.ts"]
    for output in outputs:
        s3.put_object(Bucket=PROCESSED, Key=output, Body=b"processed")
    return outputs


def stored(s3: Any, bucket: str, key: str) -> bool:
    return "Contents" in s3.list_objects_v2(Bucket=bucket, Prefix=key)


def thumbnail(client: TestClient, owner: Any = ALICE) -> str:
    return workflow.upload(client, owner, b"\x89PNG thumbnail", thumbnail=True,
                           content_type="image/png")


def jobs(client: TestClient) -> list[dict[str, Any]]:
    return run_in_app(client, lambda: VideoDeletion.select().order_by(VideoDeletion.deleted_at))


def run_worker(client: TestClient, worker: DeletionWorker | None = None,
               now: dt.datetime | None = None) -> Any:
    chosen = worker or deletions(client.app.state.ctx).worker
    return run_in_app(client, lambda: chosen.run_due(now))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.hooks("on_video_deleted")
def test_the_owner_deletes_a_video_and_every_read_forgets_it_at_once(make_video_client):
    recorder = RecordingDeletions()
    client = make_video_client(NO_BACKGROUND_WORKER, plugins=[recorder])
    video = completed_video(client)
    video_id, key = video["id"], video["video_s3_key"]
    assert len(run_in_app(client, lambda: status_history(uuid.UUID(video_id)))) == 2
    # Cached first: the deletion must invalidate, not wait for a TTL.
    assert workflow.get_video(client, ALICE, video_id).status_code == 200
    assert video_id in [v["id"] for v in workflow.list_public(client, ALICE).json()]

    response = workflow.delete_video(client, ALICE, video_id)
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert workflow.get_video(client, ALICE, video_id).status_code == 404
    assert video_id not in [v["id"] for v in workflow.list_public(client, ALICE).json()]
    assert video_id not in [v["id"] for v in workflow.list_mine(client, ALICE).json()]
    assert workflow.find_by_key(client, TRANSCODER, key).status_code == 404
    for status in ("IN_PROGRESS", "COMPLETED", "FAILED"):
        assert workflow.set_status(client, TRANSCODER, video_id, status).status_code == 404
    assert workflow.delete_video(client, ALICE, video_id).status_code == 404
    assert run_in_app(client, lambda: status_history(uuid.UUID(video_id))) == []
    [(deleted, principal)] = recorder.deleted
    assert (str(deleted.id), deleted.video_s3_key, principal.id) == (video_id, key, "alice")
    [job] = jobs(client)
    assert (job["video_s3_key"], job["owner_id"], job["finished_at"]) == (key, "alice", None)


def test_someone_elses_video_is_a_404_and_stays(client):
    video = completed_video(client)
    assert workflow.delete_video(client, BOB, video["id"]).status_code == 404
    assert workflow.delete_video(client, BOB, str(uuid.uuid4())).status_code == 404
    assert workflow.get_video(client, ALICE, video["id"]).status_code == 200
    assert jobs(client) == []


def test_deleting_needs_a_signed_in_user(client):
    video = completed_video(client)
    assert workflow.delete_video(client, workflow.ANONYMOUS, video["id"]).status_code == 401
    assert workflow.delete_video(client, TRANSCODER, video["id"]).status_code == 401
    assert workflow.get_video(client, ALICE, video["id"]).status_code == 200


def test_a_deleted_key_is_refused_for_good(client, s3):
    video = completed_video(client)
    key = video["video_s3_key"]
    assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    again = workflow.register(client, ALICE, key)
    assert again.status_code == 409, again.text
    assert "deleted video" in again.json()["detail"]
    run_worker(client)
    assert not stored(s3, RAW, key)
    after_purge = workflow.register(client, ALICE, key)
    assert after_purge.status_code == 409 and "deleted video" in after_purge.json()["detail"]


def test_a_registration_racing_a_deletion_is_refused_in_its_transaction(client):
    """A registration that read "no such key" before the deletion committed, and writes its
    row afterwards, is turned back by the check inside its own transaction."""
    video = completed_video(client)
    record = run_in_app(client, lambda: video_queries.fetch(uuid.UUID(video["id"])))
    assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    late = attrs.evolve(record, id=uuid.uuid4())
    with pytest.raises(queries.DeletedKey):
        run_in_app(client, lambda: video_queries.insert_video(late, "user:alice"))
    assert workflow.find_by_key(client, TRANSCODER, video["video_s3_key"]).status_code == 404


def test_the_worker_removes_the_videos_objects_and_nothing_else(client, s3):
    doomed = completed_video(client, thumbnail=thumbnail(client))
    kept = completed_video(client, thumbnail=thumbnail(client))
    doomed_outputs = processed_outputs(s3, doomed["video_s3_key"])
    kept_outputs = processed_outputs(s3, kept["video_s3_key"])
    assert workflow.delete_video(client, ALICE, doomed["id"]).status_code == 204

    report = run_worker(client)

    assert len(report.done) == 1 and report.failed == []
    assert not stored(s3, RAW, doomed["video_s3_key"])
    assert not stored(s3, THUMBNAILS, doomed["thumbnail_s3_key"])
    assert [output for output in doomed_outputs if stored(s3, PROCESSED, output)] == []
    assert stored(s3, RAW, kept["video_s3_key"])
    assert stored(s3, THUMBNAILS, kept["thumbnail_s3_key"])
    for output in kept_outputs:
        assert s3.get_object(Bucket=PROCESSED, Key=output)["Body"].read() == b"processed"
    [job] = jobs(client)
    assert job["finished_at"] is not None and job["due_at"] is None
    assert run_worker(client).done == []  # nothing due any more


def test_a_thumbnail_another_video_shows_is_kept(client, s3):
    shared = thumbnail(client)
    doomed = completed_video(client, thumbnail=shared)
    completed_video(client, thumbnail=shared)
    assert workflow.delete_video(client, ALICE, doomed["id"]).status_code == 204
    assert len(run_worker(client).done) == 1
    assert not stored(s3, RAW, doomed["video_s3_key"])
    assert stored(s3, THUMBNAILS, shared)


def test_hls_output_under_the_template_prefix_is_removed(make_video_client, s3):
    client = make_video_client({**NO_BACKGROUND_WORKER,
                                "playback_key_template": "hls/{key}/index.m3u8"})
    video = completed_video(client)
    key = video["video_s3_key"]
    outputs = [f"hls/{key}/index.m3u8", f"hls/{key}/1080p/segment-0001.ts"]
    for output in outputs:
        s3.put_object(Bucket=PROCESSED, Key=output, Body=b"processed")
    assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    assert len(run_worker(client).done) == 1
    assert [output for output in outputs if stored(s3, PROCESSED, output)] == []


def test_a_job_whose_s3_fails_stays_pending_and_succeeds_next_time(client, s3):
    video = completed_video(client)
    key = video["video_s3_key"]
    assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    refusing_s3 = boto3.client(
        "s3", endpoint_url=f"http://127.0.0.1:{closed_port()}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=BotoConfig(signature_version="s3v4", connect_timeout=2, read_timeout=2,
                          retries={"total_max_attempts": 1}),
    )
    now = dt.datetime.now(dt.UTC)

    failed = run_worker(client, DeletionWorker(refusing_s3, lease_seconds=60), now)

    assert failed.done == [] and len(failed.failed) == 1
    [job] = jobs(client)
    assert job["finished_at"] is None and job["attempts"] == 1
    assert job["due_at"] >= now + retry_delay(1) - dt.timedelta(seconds=1)
    assert "127.0.0.1" in job["last_error"]
    assert stored(s3, RAW, key)
    # Not due again before its backoff; done once it is.
    assert run_worker(client, now=now).done == []
    retried = run_worker(client, now=now + retry_delay(1) + dt.timedelta(seconds=1))
    assert retried.done == [job["id"]]
    assert not stored(s3, RAW, key)
    [job] = jobs(client)
    assert job["finished_at"] is not None and job["last_error"] is None


def test_a_job_held_by_a_worker_that_died_is_claimed_after_its_lease(client, s3):
    video = completed_video(client)
    assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    now = dt.datetime.now(dt.UTC)
    lease = dt.timedelta(seconds=300)
    claimed = run_in_app(client, lambda: queries.claim_due(now, now + lease))
    assert claimed is not None  # ... and the worker that claimed it is never heard of again

    assert run_worker(client, now=now + lease - dt.timedelta(seconds=1)).done == []
    assert stored(s3, RAW, video["video_s3_key"])
    report = run_worker(client, now=now + lease + dt.timedelta(seconds=1))
    assert report.done == [claimed.id]
    assert not stored(s3, RAW, video["video_s3_key"])
    # The dead worker's late finish changes nothing: its claim is no longer the job's.
    run_in_app(client, lambda: queries.postpone(claimed, now, "late"))
    [job] = jobs(client)
    assert job["finished_at"] is not None and job["attempts"] == 2 and job["due_at"] is None


def test_concurrent_workers_never_run_one_job_twice(client, s3):
    videos = [completed_video(client) for _ in range(8)]
    for video in videos:
        assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    app_worker = deletions(client.app.state.ctx).worker
    workers = [app_worker, DeletionWorker(app_worker.s3, lease_seconds=300)]

    async def race() -> list[Any]:
        return list(await asyncio.gather(*(worker.run_due() for worker in workers)))

    first, second = run_in_app(client, race)

    assert set(first.done).isdisjoint(second.done)
    assert len(first.done) + len(second.done) == len(videos)
    assert [job["attempts"] for job in jobs(client)] == [1] * len(videos)
    assert [v for v in videos if stored(s3, RAW, v["video_s3_key"])] == []


def test_the_apps_worker_runs_in_the_background_and_stops_with_the_app(make_config, s3):
    config = make_config(["video"], plugins={"video": {"deletion_poll_seconds": 0.05}})
    app = create_app(config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])
    with TestClient(app, raise_server_exceptions=False) as client:
        running = deletions(app.state.ctx)
        video = completed_video(client)
        assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
        assert wait_until(lambda: jobs(client)[0]["finished_at"] is not None)
        assert not stored(s3, RAW, video["video_s3_key"])
        assert running.task is not None and not running.task.done()
    assert running.task.done() and running.task.exception() is None


def test_the_purge_command_empties_the_queue(make_config, db_url, moto_endpoint, s3,
                                             tmp_path: Path, capsys):
    config = make_config(["video"], plugins={"video": NO_BACKGROUND_WORKER})
    app = create_app(config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])
    with TestClient(app, raise_server_exceptions=False) as client:
        videos = [completed_video(client) for _ in range(3)]
        for video in videos:
            assert workflow.delete_video(client, ALICE, video["id"]).status_code == 204
    path = command_config(tmp_path / "purge.toml", db_url, moto_endpoint)
    capsys.readouterr()
    assert main(["videos", "purge", "--config", str(path)]) == 0
    assert capsys.readouterr().out.strip() == '{"done": 3, "failed": 0}'
    assert [v for v in videos if stored(s3, RAW, v["video_s3_key"])] == []
    assert main(["videos", "purge", "--config", str(path)]) == 0
    assert capsys.readouterr().out.strip() == '{"done": 0, "failed": 0}'


def test_the_purge_command_says_in_one_line_that_the_database_does_not_answer(
        moto_endpoint, tmp_path: Path, capsys):
    unreachable = f"postgresql://itube:secret-password@127.0.0.1:{closed_port()}/itube"
    path = command_config(tmp_path / "purge.toml", unreachable, moto_endpoint,
                          logging='level = "CRITICAL"')
    capsys.readouterr()
    assert main(["videos", "purge", "--config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("itube videos purge: start-up failed: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "secret-password" not in err



def test_the_route_is_in_the_document(client):
    operation = client.get("/openapi.json").json()["paths"][
        f"{workflow.PREFIX}/{{video_id}}"]["delete"]
    assert operation["security"] == [{"user": []}]
    assert {"204", "401", "404"} <= set(operation["responses"])
    assert "content" not in operation["responses"]["204"]
