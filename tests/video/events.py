"""A test plugin recording the video plugin's events."""

from __future__ import annotations

from typing import Any

from core.plugins import hookimpl


class RecordingPlugin:
    """Keeps every event it receives; `on_status_changed` answers with an awaitable, as
    a plugin doing I/O would."""

    def __init__(self) -> None:
        self.created: list[Any] = []
        self.changed: list[tuple[Any, Any, Any, Any]] = []

    @hookimpl
    def on_video_created(self, ctx: Any, video: Any) -> None:
        self.created.append(video)

    @hookimpl
    def on_status_changed(self, ctx: Any, video: Any, old: Any, new: Any, principal: Any) -> Any:
        async def record() -> None:
            self.changed.append((video, old, new, principal))

        return record()


class FailingListenerPlugin:
    """A listener that always raises: the change must stand anyway."""

    @hookimpl
    def on_video_created(self, ctx: Any, video: Any) -> None:
        raise RuntimeError("listener down")

    @hookimpl
    def on_status_changed(self, ctx: Any, video: Any, old: Any, new: Any, principal: Any) -> None:
        raise RuntimeError("listener down")
