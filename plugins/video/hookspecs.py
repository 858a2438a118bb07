"""The video plugin's own events. Other plugins implement them with `core.plugins.hookimpl`.

Both are called after the change is committed; an implementation may return an awaitable.
A failing implementation is logged and never undoes or fails the change.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from core.auth import ServicePrincipal
    from core.context import AppContext
    from plugins.video.models import VideoRecord
    from plugins.video.states import Status

hookspec = pluggy.HookspecMarker("itube")


@hookspec
def on_video_created(ctx: AppContext, video: VideoRecord) -> Awaitable[None] | None:
    """A user registered an uploaded video's metadata; `video` is `IN_PROGRESS`."""


@hookspec
def on_status_changed(
    ctx: AppContext, video: VideoRecord, old: Status, new: Status, principal: ServicePrincipal
) -> Awaitable[None] | None:
    """`principal` moved `video` from `old` to `new` (never called for idempotent repeats);
    `video` is the record after the change."""
