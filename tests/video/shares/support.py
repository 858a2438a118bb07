"""What the share-link tests share: making videos and links, reading the rows."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from unittest import mock

from starlette.testclient import TestClient

from plugins.video.shares.tables import VideoShare
from plugins.video.tables import Video
from tests.video.support import insert_video, run_in_app, user

PREFIX = "/api/v1/upload/videos"
SHARED = "/api/v1/shared"
ALICE, BOB = user("alice"), user("bob")
DAY = 86_400


def shares_path(video_id: Any) -> str:
    return f"{PREFIX}/{video_id}/shares"


def video_of(client: TestClient, visibility: str = "PRIVATE", status: str = "COMPLETED",
             owner: str = "alice") -> uuid.UUID:
    video_id: uuid.UUID = insert_video(client, owner_id=owner, visibility=visibility,
                                       processing_status=status)
    return video_id


def create(client: TestClient, video_id: Any, who: Any = ALICE, **body: Any) -> Any:
    return client.post(shares_path(video_id), json={"expires_in": DAY, **body},
                       **who.request_options())


def created(client: TestClient, video_id: Any, **body: Any) -> dict[str, Any]:
    response = create(client, video_id, **body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def share_rows(client: TestClient, video_id: Any = None) -> list[dict[str, Any]]:
    query = VideoShare.select()
    if video_id is not None:
        query = query.where(VideoShare.video == video_id)
    rows: list[dict[str, Any]] = run_in_app(client, lambda: query.run())
    return rows


def update_share(client: TestClient, share_id: Any, **values: Any) -> None:
    changes = {getattr(VideoShare, name): value for name, value in values.items()}
    run_in_app(client, lambda: VideoShare.update(changes).where(VideoShare.id == share_id).run())


def problem_without_ids(response: Any) -> dict[str, Any]:
    """A problem's members that do not name the request (its id, its path)."""
    assert response.headers["content-type"] == "application/problem+json"
    return {name: value for name, value in response.json().items()
            if name not in ("request_id", "instance")}


def queries_made(request: Any) -> tuple[Any, int]:
    """Send `request()` while counting the statements the database engine runs (engines
    have slots: the method is wrapped on the class, for the duration)."""
    engine_class = type(Video._meta.db)
    original = engine_class.run_querystring
    statements = []

    async def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        if task is None or not task.get_name().startswith("events:"):  # not the dispatcher's
            statements.append(args)
        return await original(self, *args, **kwargs)

    with mock.patch.object(engine_class, "run_querystring", counting):
        response = request()
    return response, len(statements)
