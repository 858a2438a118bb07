"""What a live event stream sends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs


@attrs.define
class LiveEventOut:
    """The `data` of one message; the message's `id` is the event's outbox id (send it
    back as `Last-Event-ID` to resume) and its `event` is `type`."""

    type: str = attrs.field(metadata={
        "description": "video.created, video.updated, video.status_changed, video.deleted, "
                       "upload.completed or video.progress"})
    subject: str = attrs.field(metadata={"description": "The video's id (an upload's for "
                                                        "upload.completed)"})
    occurred_at: dt.datetime
    data: dict[str, Any] = attrs.field(metadata={
        "description": "The video's public shape; a status change's adds "
                       '`{"from", "to", "reason"}`, a progress report\'s '
                       '`{"progress", "stage", "eta_seconds", "attempt"}`'})
