"""No event lost across a crash: a real server process killed (SIGKILL) after its changes
committed and before its sink took them; once started again, every event is delivered,
in id order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.server import UvicornProcess
from tests.video import workflow
from tests.video.support import TRANSCODER, user, wait_until

ALICE, BOB = user("alice"), user("bob")


def _config(path: Path, db_url: str, moto_endpoint: str) -> Path:
    path.write_text(f"""
[app]
plugins = ["local_aws", "video", "tests.support.stand_in_plugins",
           "tests.support.file_event_sink"]
[database]
url = "{db_url}"
migrate_on_start = true
[events]
dispatch_interval_seconds = 0.05
[server]
freeze_heap_after_startup = false
[logging]
access_log = false
[plugins.local_aws]
endpoint_url = "{moto_endpoint}"
""")
    return path


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line]


def _make_changes(url: str) -> int:
    """Three videos registered, one completed, one deleted: five events."""
    with httpx.Client(base_url=url, timeout=10) as client:
        ids = []
        for owner in (ALICE, BOB, ALICE):
            key = workflow.upload(client, owner)
            answer = workflow.register(client, owner, key)
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        assert workflow.set_status(client, TRANSCODER, ids[0], "COMPLETED").status_code == 200
        assert workflow.delete_video(client, BOB, ids[1]).status_code == 204
    return 5


def test_no_event_is_lost_when_the_process_is_killed(tmp_path, db_url, moto_endpoint,
                                                     monkeypatch: pytest.MonkeyPatch):
    config = _config(tmp_path / "itube.toml", db_url, moto_endpoint)
    log = tmp_path / "events.jsonl"
    monkeypatch.setenv("ITUBE_TEST_EVENT_LOG", str(log))

    monkeypatch.setenv("ITUBE_TEST_EVENT_SINK_BLOCK", "1")
    first = UvicornProcess(config, tmp_path / "first.log")
    try:
        first.wait_ready()
        expected = _make_changes(first.url)
        assert wait_until(lambda: any("blocked" in line for line in _lines(log)))
        first.process.kill()  # SIGKILL: no shutdown, no flush, the sink mid-delivery
        first.process.wait()
    finally:
        first.stop()
    assert not any("id" in line for line in _lines(log)), "nothing was delivered yet"

    monkeypatch.setenv("ITUBE_TEST_EVENT_SINK_BLOCK", "0")
    second = UvicornProcess(config, tmp_path / "second.log")
    try:
        second.wait_ready()
        assert wait_until(lambda: len([1 for line in _lines(log) if "id" in line]) >= expected,
                          timeout=20), second.log_text()
    finally:
        second.stop()
    delivered = [line for line in _lines(log) if "id" in line]
    assert [line["type"] for line in delivered] == [
        "video.created", "video.created", "video.created", "video.status_changed",
        "video.deleted",
    ]
    ids = [line["id"] for line in delivered]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
