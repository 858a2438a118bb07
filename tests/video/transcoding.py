"""What the lease and progress tests share: the transcoder's calls under a lease."""

from __future__ import annotations

from typing import Any

import httpx

from core.events import events_since
from tests.video.support import TRANSCODER, run_in_app
from tests.video.workflow import PREFIX


def claim(client: Any, video_id: Any) -> httpx.Response:
    return client.post(f"{PREFIX}/{video_id}/lease", **TRANSCODER.request_options())


def heartbeat(client: Any, video_id: Any, token: str | None) -> httpx.Response:
    headers = {"Lease-Token": token} if token else {}
    return client.post(f"{PREFIX}/{video_id}/lease/heartbeat",
                       **TRANSCODER.request_options(headers))


def report(client: Any, video_id: Any, body: dict[str, Any],
           token: str | None = None) -> httpx.Response:
    """A JSON status or progress report, under the lease `token` when given."""
    headers = {"Lease-Token": token} if token else {}
    return client.patch(f"{PREFIX}/{video_id}/status", json=body,
                        **TRANSCODER.request_options(headers))


def progress(client: Any, video_id: Any, percent: int, stage: str = "transcoding",
             token: str | None = None, **extra: Any) -> httpx.Response:
    body = {"status": "IN_PROGRESS", "progress": percent, "stage": stage, **extra}
    return report(client, video_id, body, token)


def events_of(client: Any, video_id: Any, event_type: str) -> list[Any]:
    """The outbox's events of one type about one video, in id order."""
    events = run_in_app(client, lambda: events_since(types=[event_type], limit=1000))
    return [event for event in events if event.subject == str(video_id)]
