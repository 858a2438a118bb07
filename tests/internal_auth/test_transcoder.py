"""`itube transcoder-example`: upload events from the queue drive videos to COMPLETED (or
FAILED) through the signed internal API. Each test provisions its own raw bucket and
queue on the moto server, so other tests' uploads never reach it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from core.app import create_app
from core.cli import main
from core.config import load_config
from plugins.internal_iam.client import SigV4Signer
from plugins.internal_iam.config import DEVELOPMENT_ACCESS_KEY_ID, DEVELOPMENT_SECRET_ACCESS_KEY
from plugins.video.transcoder import EMPTY_UPLOAD, TranscoderExample
from tests.internal_auth.strategies import SigV4Static
from tests.support.server import serving_in_thread
from tests.support.services import free_port
from tests.support.stand_ins import StandInUserAuthPlugin
from tests.video import workflow
from tests.video.workflow import Credentials as As

ALICE = As(headers={"X-Test-User": "alice"})
STATIC = SigV4Static()


def aws(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=BotoConfig(signature_version="s3v4"))


def own_resources(moto_endpoint: str) -> dict[str, str]:
    suffix = uuid.uuid4().hex[:10]
    return {"endpoint_url": moto_endpoint, "raw_bucket": f"itube-raw-{suffix}",
            "queue_name": f"itube-events-{suffix}"}


@pytest.fixture
def app(make_config: Any, make_client: Any, moto_endpoint: str) -> Any:
    config = make_config(["video", "internal_iam"], plugins={
        "local_aws": own_resources(moto_endpoint), "internal_iam": STATIC.settings()})
    return make_client(config, plugins=[StandInUserAuthPlugin()])


def empty_upload(moto_endpoint: str, bucket: str) -> str:
    key = f"videos/alice/{uuid.uuid4()}"
    aws("s3", moto_endpoint).put_object(Bucket=bucket, Key=key, Body=b"",
                                        ContentType="video/mp4")
    return key


def status_of(client: Any, video_id: str) -> dict[str, Any]:
    return workflow.get_video(client, ALICE, video_id).json()


def test_events_drive_uploads_to_completed_or_failed(app: Any, moto_endpoint: str):
    resources = app.app.state.ctx.aws
    queue_url = resources.resource("sqs_raw_events_queue_url")
    good_key = workflow.upload(app, ALICE)
    good = workflow.register(app, ALICE, good_key).json()["id"]
    empty_key = empty_upload(moto_endpoint, resources.resource("s3_raw_bucket"))
    empty = workflow.register(app, ALICE, empty_key).json()["id"]
    later_key = workflow.upload(app, ALICE)  # metadata not saved yet

    lines: list[str] = []
    transcoder = TranscoderExample(app, aws("sqs", moto_endpoint), queue_url,
                                   auth=SigV4Signer(STATIC.good, region="us-east-1"),
                                   visibility_timeout=0, out=lines.append)
    outcomes = transcoder.drain(wait_seconds=0)
    assert (outcomes["completed"], outcomes["failed"], outcomes["waiting"]) == (1, 1, 1), lines
    assert outcomes["error"] == 0, lines
    assert status_of(app, good)["processing_status"] == "COMPLETED"
    assert status_of(app, empty)["processing_status"] == "FAILED"
    listed = [video["id"] for video in workflow.list_public(app, workflow.ANONYMOUS).json()]
    assert good in listed and empty not in listed

    later = workflow.register(app, ALICE, later_key).json()["id"]
    again = TranscoderExample(app, aws("sqs", moto_endpoint), queue_url,
                              auth=SigV4Signer(STATIC.good, region="us-east-1"),
                              out=lines.append).drain(wait_seconds=0)
    assert again["completed"] == 1 and again["waiting"] == 0, lines
    assert status_of(app, later)["processing_status"] == "COMPLETED"


def test_a_transcoder_without_valid_keys_changes_nothing(app: Any, moto_endpoint: str):
    queue_url = app.app.state.ctx.aws.resource("sqs_raw_events_queue_url")
    video_id = workflow.register(app, ALICE, workflow.upload(app, ALICE)).json()["id"]
    lines: list[str] = []
    impostor = SigV4Signer(STATIC.credentials("wrong_secret"), region="us-east-1")
    outcomes = TranscoderExample(app, aws("sqs", moto_endpoint), queue_url, auth=impostor,
                                 out=lines.append).drain(wait_seconds=0)
    assert outcomes["error"] == 1 and outcomes["completed"] == 0, lines
    assert "401" in "\n".join(lines)
    assert status_of(app, video_id)["processing_status"] == "IN_PROGRESS"


# -- the command against a real server -------------------------------------------------------


def write_config(path: Path, *, db_url: str, port: int, moto_endpoint: str,
                 resources: dict[str, str]) -> Path:
    path.write_text(f"""
[app]
plugins = ["local_aws", "video", "internal_iam"]

[database]
url = "{db_url}"
migrate_on_start = true

[logging]
access_log = false

[plugins.local_aws]
endpoint_url = "{moto_endpoint}"
raw_bucket = "{resources['raw_bucket']}"
queue_name = "{resources['queue_name']}"

[plugins.internal_iam]
allowed_principals = ["transcoder"]
expected_hosts = ["127.0.0.1:{port}"]

[plugins.internal_iam.keys.{DEVELOPMENT_ACCESS_KEY_ID}]
secret_access_key = "{DEVELOPMENT_SECRET_ACCESS_KEY}"
principal = "transcoder"

[plugins.transcoder_example]
api_url = "http://127.0.0.1:{port}"
aws_endpoint_url = "{moto_endpoint}"
aws_access_key_id = "testing"
aws_secret_access_key = "testing"
queue_name = "{resources['queue_name']}"
""")
    return path


@pytest.fixture
def served(tmp_path: Path, db_url: str, moto_endpoint: str) -> Any:
    """The API on a real uvicorn server (in a thread), configured from a TOML file."""
    port = free_port()
    path = write_config(tmp_path / "itube.toml", db_url=db_url, port=port,
                        moto_endpoint=moto_endpoint, resources=own_resources(moto_endpoint))
    app = create_app(load_config(path, environ={}), plugins=[StandInUserAuthPlugin()])
    with serving_in_thread(app, port) as client:
        yield path, client


def test_the_command_completes_a_real_upload(served: Any, capsys: Any,
                                             monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ITUBE_CONFIG", raising=False)
    path, client = served
    video_id = workflow.register(client, ALICE, workflow.upload(client, ALICE)).json()["id"]
    assert main(["--config", str(path), "transcoder-example", "--once",
                 "--wait-seconds", "0"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["completed"] == 1
    video = status_of(client, video_id)
    assert video["processing_status"] == "COMPLETED"
    # the example publishes an HLS ladder: the video plays through the manifest route
    assert video["playback_url"] == f"{workflow.PREFIX}/{video_id}/playback.m3u8"
    played = client.get(video["playback_url"], **ALICE.request_options())
    assert played.status_code == 200 and played.text.startswith("#EXTM3U")
    listed = [video["id"] for video in workflow.list_public(client, workflow.ANONYMOUS).json()]
    assert video_id in listed


def test_the_empty_upload_reason_is_recorded(app: Any, moto_endpoint: str):
    resources = app.app.state.ctx.aws
    empty_key = empty_upload(moto_endpoint, resources.resource("s3_raw_bucket"))
    video_id = workflow.register(app, ALICE, empty_key).json()["id"]
    TranscoderExample(app, aws("sqs", moto_endpoint),
                      resources.resource("sqs_raw_events_queue_url"),
                      auth=SigV4Signer(STATIC.good, region="us-east-1"),
                      out=lambda line: None).drain(wait_seconds=0)
    mine = status_of(app, video_id)
    assert mine["processing_status"] == "FAILED"
    assert mine["failure_reason"] == EMPTY_UPLOAD


def test_an_object_announced_twice_is_reported_once(app: Any, moto_endpoint: str):
    """S3 delivers events at least once (and the emulator announces an object made from
    parts twice): a key already reported is skipped, not signed and sent again."""
    queue_url = app.app.state.ctx.aws.resource("sqs_raw_events_queue_url")
    key = workflow.upload(app, ALICE)
    video_id = workflow.register(app, ALICE, key).json()["id"]
    sqs = aws("sqs", moto_endpoint)
    event = None
    while event is None:  # the upload's event, alone: whatever else is queued is dropped
        message = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=5)["Messages"][0]
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if key.rsplit("/", 1)[1] in message["Body"]:
            event = message["Body"]
    for _ in range(2):
        sqs.send_message(QueueUrl=queue_url, MessageBody=event)
    lines: list[str] = []
    outcomes = TranscoderExample(app, sqs, queue_url,
                                 auth=SigV4Signer(STATIC.good, region="us-east-1"),
                                 visibility_timeout=0, out=lines.append).drain(wait_seconds=0)
    assert (outcomes["completed"], outcomes["skipped"], outcomes["error"]) == (1, 1, 0), lines
    assert status_of(app, video_id)["processing_status"] == "COMPLETED"
