"""From the outbox to the receiver: the dispatcher hands events to the sink, the worker
sends them; a replay sends them again with the same webhook-id (service and CLI)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.db import write_transaction
from core.events import record
from core.events.tables import EventOutbox
from plugins.webhooks import service
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video.support import TRANSCODER, insert_video, run_in_app, wait_until
from tests.webhooks.conftest import deliveries, run_due, running

FAST_EVENTS = {"events": {"dispatch_interval_seconds": 0.05, "max_backoff_seconds": 0.2}}


async def record_events(*subjects: str) -> None:
    async with write_transaction(EventOutbox):
        for subject in subjects:
            await record("video.updated", subject, "alice", {"id": subject})


def outbox_ids(client) -> list[int]:
    rows = run_in_app(client, lambda: EventOutbox.select(EventOutbox.id).order_by(EventOutbox.id))
    return [row["id"] for row in rows]


def test_outbox_events_are_delivered_and_replayed_with_the_same_id(make_webhooks_client,
                                                                   receiver):
    client = make_webhooks_client(sections=FAST_EVENTS)
    run_in_app(client, lambda: record_events("a", "b", "c"))
    assert wait_until(lambda: len(deliveries(client)) == 3)
    run_due(client)
    ids = [str(event_id) for event_id in outbox_ids(client)]
    assert receiver.ids == ids

    settings = running(client).settings
    queued = run_in_app(client, lambda: service.replay(settings, from_id=int(ids[1])))
    assert queued == 2
    assert run_due(client).delivered == 2

    assert receiver.ids == [*ids, *ids[1:]]
    assert all(request.error is None for request in receiver.requests)
    assert [request.verified["data"]["id"] for request in receiver.requests[3:]] == ["b", "c"]

    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    assert run_in_app(client, lambda: service.replay(settings, since=since)) == 3
    assert run_in_app(client, lambda: service.replay(
        settings, since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))) == 0


@pytest.mark.hooks("event_sinks")
def test_a_video_change_reaches_the_receiver(make_webhooks_client, receiver):
    client = make_webhooks_client(
        plugins=["video"], extra=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()],
        sections=FAST_EVENTS, poll_seconds=0.2)
    video_id = insert_video(client, processing_status="IN_PROGRESS")

    response = client.patch(f"/api/v1/upload/videos/{video_id}/status?status=COMPLETED",
                            **TRANSCODER.request_options())
    assert response.status_code == 200, response.text

    assert wait_until(lambda: len(receiver.requests) == 1)
    [request] = receiver.requests
    assert request.error is None
    assert request.verified["type"] == "video.status_changed"
    assert request.verified["data"]["id"] == str(video_id)


def write_config(path: Path, db_url: str) -> Path:
    path.write_text(f"""
[app]
plugins = ["webhooks"]
[database]
url = "{db_url}"
[logging]
access_log = false
[plugins.webhooks]
allow_private_addresses = true
[plugins.webhooks.endpoints.main]
url = "http://127.0.0.1:9/hook"
secret = "env:TEST_WEBHOOK_SECRET"
""", encoding="utf-8")
    return path


def itube(*args: str, secret: str) -> subprocess.CompletedProcess[str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("ITUBE")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "itube"), *args], capture_output=True, text=True,
        timeout=120, env={**env, "TEST_WEBHOOK_SECRET": secret},
    )


def test_the_replay_command(make_webhooks_client, receiver, db_url, tmp_path):
    client = make_webhooks_client(sections=FAST_EVENTS)
    run_in_app(client, lambda: record_events("a", "b"))
    assert wait_until(lambda: len(deliveries(client)) == 2)
    run_due(client)
    first = outbox_ids(client)[0]
    config = str(write_config(tmp_path / "itube.toml", db_url))

    done = itube("webhooks", "replay", "--since", str(first), "--endpoint", "main",
                 "--config", config, secret=receiver.secret)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"queued": 2}
    assert run_due(client).delivered == 2
    assert receiver.ids == [str(first), str(first + 1)] * 2

    status = itube("webhooks", "status", "--config", config, secret=receiver.secret)
    assert status.returncode == 0, status.stderr
    [main] = json.loads(status.stdout)
    assert (main["name"], main["delivered"], main["pending"]) == ("main", 2, 0)
    assert receiver.secret not in status.stdout + status.stderr

    wrong = itube("webhooks", "replay", "--since", "yesterday", "--config", config,
                  secret=receiver.secret)
    assert wrong.returncode == 2 and "RFC 3339" in wrong.stderr
