"""The video plugin's own events. Other plugins implement them with `core.plugins.hookimpl`.

Each is called after the change is committed; an implementation may return an awaitable.
A failing implementation is logged and never undoes or fails the change.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.auth import Actor, ServicePrincipal
    from core.context import AppContext
    from plugins.video.models import VideoRecord
    from plugins.video.states import Status

hookspec = pluggy.HookspecMarker("itube")


@hookspec
def on_video_created(ctx: AppContext, video: VideoRecord) -> Awaitable[None] | None:
    """A user registered an uploaded video's metadata; `video` is `IN_PROGRESS`."""


@hookspec
def on_status_changed(
    ctx: AppContext, video: VideoRecord, old: Status, new: Status,
    principal: Actor | ServicePrincipal,
) -> Awaitable[None] | None:
    """`principal` moved `video` from `old` to `new` (never called for idempotent repeats);
    `video` is the record after the change. `principal` is the `ServicePrincipal` that
    reported a status, or the owner's `Actor` who retried a failed video."""


@hookspec
def on_video_updated(
    ctx: AppContext, video: VideoRecord, old: VideoRecord, changes: tuple[str, ...]
) -> Awaitable[None] | None:
    """The owner edited a video: `video` is the record after, `old` the one before, and
    `changes` names the fields whose value changed (among `title`, `description`,
    `visibility`, `thumbnail_s3_key`). Never called for an edit that changed nothing."""


@hookspec
def on_video_deleted(
    ctx: AppContext, video: VideoRecord, principal: Actor
) -> Awaitable[None] | None:
    """`principal` (the owner) deleted `video`, the record as it was; it is gone from every
    read, and its S3 objects are removed by the deletion worker afterwards."""
