"""What an event is, and the two roles that consume events: a sink (reliable delivery,
driven by the dispatcher) and a broker (live pub/sub, for streams)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import attrs

EVENT_TYPES = (
    "video.created",
    "video.updated",
    "video.status_changed",
    "video.deleted",
    "upload.completed",
    "video.progress",
)


@attrs.frozen
class Event:
    """One change, as written to the outbox in the transaction of the change."""

    # The outbox id: strictly increasing in commit order as the dispatcher hands it out.
    id: int
    # One of EVENT_TYPES.
    type: str
    # The resource changed: the video id (or the upload id) as text.
    subject: str
    # Whose resource it is (live streams show a user their own events only).
    owner_id: str | None
    # When the change was made, UTC.
    occurred_at: datetime
    # The JSON-serialisable payload: the public shape of the video, never a secret.
    data: dict[str, Any]

    def to_json_dict(self) -> dict[str, Any]:
        """The event as JSON-ready values (`occurred_at` in ISO 8601)."""
        return {
            "id": self.id,
            "type": self.type,
            "subject": self.subject,
            "owner_id": self.owner_id,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


@runtime_checkable
class EventSink(Protocol):
    """Where the dispatcher delivers events, at least once, in id order."""

    # Stable across releases: it names the sink's delivery offset in the database.
    name: str

    async def deliver(self, events: Sequence[Event]) -> None:
        """Take `events` (id order). Raise to have the same batch offered again later; a
        sink must tolerate a repeat (`Event.id` is the dedupe key)."""
        ...


@runtime_checkable
class EventBroker(Protocol):
    """Live pub/sub between the dispatcher and the streams of every worker."""

    async def publish(self, event: Event) -> None:
        """Hand `event` to every current subscriber (of every worker, for a shared broker)."""
        ...

    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """An iterator of every event published anywhere after subscribing."""
        ...

    async def close(self) -> None:
        """Release connections; subscribers' iterators end."""
        ...
