"""What the video tests share: stand-in credentials, app-loop access, row inserts."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from plugins.video.tables import Video, VideoStatusHistory
from tests.video.workflow import Credentials

TRANSCODER = Credentials(headers={"X-Test-Service": "transcoder"})


def user(name: str) -> Credentials:
    """The stand-in user auth: `X-Test-User: <name>` signs in as `name`."""
    return Credentials(headers={"X-Test-User": name})


def run_in_app(client: TestClient, make_coroutine: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine on the app's event loop (where its database pool lives)."""
    assert client.portal is not None

    async def call() -> Any:
        return await make_coroutine()

    return client.portal.call(call)


def next_link(response: Any) -> str | None:
    """The target of a `Link: <...>; rel="next"` header, if any."""
    header = response.headers.get("link")
    if not header:
        return None
    target, _, relation = header.partition(";")
    assert relation.strip() == 'rel="next"', header
    return target.strip().removeprefix("<").removesuffix(">")


def wait_until(condition: Callable[[], Any], timeout: float = 10.0) -> bool:
    """Whether `condition()` holds within `timeout` seconds, asked every 50 ms."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(condition())


def command_config(path: Path, db_url: str, moto_endpoint: str, video: str = "",
                   logging: str = "") -> Path:
    """A config file for an `itube videos …` command: the video plugin on `db_url`, AWS from
    the emulator, `video` and `logging` as extra lines of their sections."""
    path.write_text(f"""
[app]
plugins = ["local_aws", "video"]
[database]
url = "{db_url}"
[logging]
access_log = false
{logging}
[plugins.local_aws]
endpoint_url = "{moto_endpoint}"
[plugins.video]
{video}
""", encoding="utf-8")
    return path


def problem_fields(response: Any) -> list[str]:
    """The fields a 422 problem names, in its order."""
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


def follow_pages(client: TestClient, url: str | None, viewer: Credentials) -> tuple[list[str], int]:
    """Every id across every page from `url` on, following the `Link` headers, and the
    number of pages."""
    ids: list[str] = []
    pages = 0
    while url:
        response = client.get(url, **viewer.request_options())
        assert response.status_code == 200, response.text
        ids += [video["id"] for video in response.json()]
        pages += 1
        url = next_link(response)
    return ids, pages


def insert_video(client: TestClient, **fields: Any) -> Any:
    """Insert a video row straight through Piccolo (e.g. many with one created_at)."""
    now = dt.datetime.now(dt.UTC)
    video_id = fields.pop("id", None) or uuid.uuid4()
    owner = fields.pop("owner_id", "alice")
    row = {
        "id": video_id, "owner_id": owner, "title": "Inserted", "description": "",
        "visibility": "PUBLIC", "processing_status": "COMPLETED",
        "video_s3_key": f"videos/{owner}/{video_id}", "thumbnail_s3_key": None,
        "size_bytes": 1, "content_type": "video/mp4", "created_at": now, "updated_at": now,
        "version": 1, **fields,
    }
    run_in_app(client, lambda: Video.insert(Video(**row)).run())
    return video_id


async def status_history(video_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every transition of a video, oldest first (read on the app's loop: `run_in_app`)."""
    return await (
        VideoStatusHistory.select(
            VideoStatusHistory.from_status,
            VideoStatusHistory.to_status,
            VideoStatusHistory.changed_at,
            VideoStatusHistory.changed_by,
            VideoStatusHistory.reason,
        )
        .where(VideoStatusHistory.video == video_id)
        .order_by(VideoStatusHistory._meta.primary_key)
    )


def hold_presigner_clock(client: TestClient, window_seconds: int) -> list[dt.datetime]:
    """Makes the app's presigner read its moment from the returned list's one item, set to
    the start of the current signing window: no window ends until the test moves it."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    moment = [now - dt.timedelta(seconds=int(now.timestamp()) % window_seconds)]
    client.app.state.ctx.state["video"].storage.presigner.clock = lambda: moment[0]
    return moment
