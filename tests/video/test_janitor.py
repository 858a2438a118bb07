"""The janitor: orphan objects and stale multipart uploads removed, everything a video (or a
recent resumable upload) claims kept, registrations racing a sweep, the lifespan task and
`itube videos janitor` (both databases, the emulator over HTTP)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from core.cli import main
from plugins.video import queries as video_queries
from plugins.video.config import VideoSettings, settings_problems
from plugins.video.deletion.queries import DeletedKey
from plugins.video.janitor import queries
from plugins.video.janitor.service import Janitor
from plugins.video.janitor.task import janitor
from plugins.video.models import VideoRecord
from plugins.video.states import Status, Visibility
from plugins.video.storage import Buckets
from plugins.video.tables import VideoMultipartUpload
from tests.video import workflow
from tests.video.support import command_config, run_in_app, user, wait_until

ALICE = user("alice")
HOUR = dt.timedelta(hours=1)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def buckets(s3) -> dict[str, str]:
    """Buckets of this test alone: a sweep sees nothing another test left."""
    names = {"raw_bucket": f"janitor-raw-{uuid.uuid4().hex[:10]}",
             "thumbnails_bucket": f"janitor-thumbs-{uuid.uuid4().hex[:10]}"}
    for name in names.values():
        s3.create_bucket(Bucket=name)
    return names


@pytest.fixture
def client(make_video_client, buckets):
    return make_video_client({**buckets, "janitor_interval_seconds": 0})


def keys_in(s3: Any, bucket: str) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def uploads_in(s3: Any, bucket: str) -> set[str]:
    return {upload["UploadId"]
            for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}


def sweep(client: Any, cutoff: dt.datetime) -> dict[str, int]:
    sweeper = janitor(client.app.state.ctx)
    return run_in_app(client, lambda: sweeper.sweep(cutoff)).counts()


def test_old_orphans_go_and_registered_or_young_uploads_stay(client, s3, buckets):
    raw, thumbs = buckets["raw_bucket"], buckets["thumbnails_bucket"]
    shown = workflow.upload(client, ALICE, b"png", thumbnail=True, content_type="image/png")
    registered = workflow.upload(client, ALICE)
    assert workflow.register(client, ALICE, registered, thumbnail_key=shown).status_code == 201
    orphan = workflow.upload(client, ALICE)
    orphan_thumbnail = workflow.upload(client, ALICE, b"png", thumbnail=True,
                                       content_type="image/png")

    young = sweep(client, _now() - HOUR)  # everything was uploaded after this cutoff
    assert young == {"videos": 0, "thumbnails": 0, "multipart_uploads": 0}
    assert keys_in(s3, raw) == {registered, orphan}

    old = sweep(client, _now() + HOUR)  # everything was uploaded before this one
    assert old == {"videos": 1, "thumbnails": 1, "multipart_uploads": 0}
    assert keys_in(s3, raw) == {registered}
    assert keys_in(s3, thumbs) == {shown}
    assert orphan_thumbnail not in keys_in(s3, thumbs)

    late = workflow.register(client, ALICE, orphan)
    assert late.status_code == 409 and "deleted video" in late.json()["detail"], late.text
    again = sweep(client, _now() + HOUR)
    assert again == {"videos": 0, "thumbnails": 0, "multipart_uploads": 0}


def test_a_sweep_cut_short_is_finished_by_the_next(client, s3, buckets):
    """A key refused by a sweep that stopped before deleting its object is deleted next time."""
    raw = buckets["raw_bucket"]
    orphan = workflow.upload(client, ALICE)
    assert run_in_app(client, lambda: queries.refuse_orphan_keys(raw, [orphan], _now())) \
        == [orphan]
    assert keys_in(s3, raw) == {orphan}
    assert sweep(client, _now() + HOUR)["videos"] == 1
    assert keys_in(s3, raw) == set()


def _record(key: str) -> VideoRecord:
    now = _now()
    return VideoRecord(
        id=uuid.uuid4(), owner_id="alice", title="Racing", description="",
        visibility=Visibility.PUBLIC, processing_status=Status.IN_PROGRESS, video_s3_key=key,
        thumbnail_s3_key=None, size_bytes=1, content_type="video/mp4", failure_reason=None,
        duration_seconds=None, created_at=now, updated_at=now, version=1)


def test_a_registration_after_the_refusal_is_turned_back_in_its_transaction(client, buckets):
    raw = buckets["raw_bucket"]
    key = f"videos/alice/{uuid.uuid4()}"
    assert run_in_app(client, lambda: queries.refuse_orphan_keys(raw, [key], _now())) == [key]
    with pytest.raises(DeletedKey):
        run_in_app(client, lambda: video_queries.insert_video(_record(key), "user:alice"))


def test_a_key_registered_before_the_refusal_is_kept(client, buckets):
    raw = buckets["raw_bucket"]
    key = f"videos/alice/{uuid.uuid4()}"
    run_in_app(client, lambda: video_queries.insert_video(_record(key), "user:alice"))
    assert run_in_app(client, lambda: queries.refuse_orphan_keys(raw, [key], _now())) == []


def test_concurrent_registrations_and_refusals_never_both_win(client, buckets):
    """Registrations and the janitor's refusals of the same keys, started together: each key
    ends registered or refused, never both (the refusal's transaction excludes inserts)."""
    raw = buckets["raw_bucket"]
    keys = [f"videos/alice/{uuid.uuid4()}" for _ in range(12)]

    async def register(key: str) -> bool:
        try:
            await video_queries.insert_video(_record(key), "user:alice")
        except DeletedKey:
            return False
        return True

    async def race() -> tuple[list[bool], list[str]]:
        registering = [asyncio.ensure_future(register(key)) for key in keys]
        refused: list[str] = []
        for index in range(0, len(keys), 3):
            refused += await queries.refuse_orphan_keys(raw, keys[index:index + 3], _now())
        return list(await asyncio.gather(*registering)), refused

    registered, refused = run_in_app(client, race)
    for key, won in zip(keys, registered, strict=True):
        assert won != (key in refused), key


def _multipart(s3: Any, bucket: str) -> str:
    key = f"videos/alice/{uuid.uuid4()}"
    return str(s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]), key


def test_a_stale_multipart_upload_is_aborted(client, s3, buckets):
    raw = buckets["raw_bucket"]
    upload_id, _ = _multipart(s3, raw)
    assert uploads_in(s3, raw) == {upload_id}
    # moto reports every upload as initiated in 2010: only a cutoff before that keeps it
    assert sweep(client, dt.datetime(2001, 1, 1, tzinfo=dt.UTC))["multipart_uploads"] == 0
    assert sweep(client, _now())["multipart_uploads"] == 1
    assert uploads_in(s3, raw) == set()


def test_a_resumable_upload_the_ledger_saw_start_recently_is_kept(client, s3, buckets):
    raw = buckets["raw_bucket"]
    upload_id, key = _multipart(s3, raw)
    now = _now()
    row = VideoMultipartUpload(
        id=uuid.uuid4(), owner_id="alice", s3_key=key, s3_upload_id=upload_id,
        content_type="video/mp4", size_bytes=10 * 1024 * 1024, part_size=5 * 1024 * 1024,
        state="ACTIVE", created_at=now, expires_at=now + dt.timedelta(days=1))
    run_in_app(client, lambda: VideoMultipartUpload.insert(row).run())
    assert sweep(client, now - HOUR)["multipart_uploads"] == 0
    assert uploads_in(s3, raw) == {upload_id}
    assert sweep(client, now + HOUR)["multipart_uploads"] == 1


def test_an_upload_already_aborted_is_no_fault(client, s3, buckets):
    raw = buckets["raw_bucket"]
    upload_id, key = _multipart(s3, raw)
    sweeper = janitor(client.app.state.ctx)
    s3.abort_multipart_upload(Bucket=raw, Key=key, UploadId=upload_id)
    sweeper._abort(raw, key, upload_id)  # NoSuchUpload: another sweep got there first


def test_the_apps_janitor_sweeps_in_the_background_and_stops_with_the_app(
        make_video_client, s3, buckets):
    client = make_video_client({**buckets, "janitor_interval_seconds": 0.05})
    running = client.app.state.ctx.state["video.janitor"]
    upload_id, _ = _multipart(s3, buckets["raw_bucket"])
    assert wait_until(lambda: upload_id not in uploads_in(s3, buckets["raw_bucket"]))
    assert running.task is not None and not running.task.done()


def test_a_sweep_whose_s3_fails_is_logged_and_retried(client, caplog):
    dead = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=BotoConfig(retries={"max_attempts": 1}, connect_timeout=1))
    broken = Janitor(dead, Buckets(raw="r", thumbnails="t", processed="p"), 86_400)

    async def run() -> None:
        import anyio

        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(broken.run_forever, 0.01, stop)
            while len([r for r in caplog.records if "janitor sweep failed" in r.message]) < 2:
                await anyio.sleep(0.01)
            stop.set()

    with caplog.at_level(logging.WARNING, logger="itube.video.janitor"):
        run_in_app(client, run)
    assert any("janitor sweep failed" in record.message for record in caplog.records)


def test_the_command_sweeps_once(client, db_url, moto_endpoint, s3, buckets, tmp_path: Path,
                                 capsys):
    upload_id, _ = _multipart(s3, buckets["raw_bucket"])
    video = "\n".join(f'{name} = "{value}"' for name, value in buckets.items())
    path = command_config(tmp_path / "janitor.toml", db_url, moto_endpoint, video=video)
    capsys.readouterr()
    assert main(["videos", "janitor", "--once", "--config", str(path)]) == 0
    assert capsys.readouterr().out.strip() == \
        '{"videos": 0, "thumbnails": 0, "multipart_uploads": 1}'
    assert upload_id not in uploads_in(s3, buckets["raw_bucket"])


def test_the_orphan_age_must_exceed_the_upload_urls_life():
    problems = settings_problems(VideoSettings(upload_url_ttl_seconds=900,
                                               orphan_upload_seconds=900))
    assert any(problem.startswith("plugins.video.orphan_upload_seconds:")
               for problem in problems)
    assert settings_problems(VideoSettings(janitor_interval_seconds=-1)) == [
        "plugins.video.janitor_interval_seconds: must not be negative"]
