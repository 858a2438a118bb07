"""The event sink: each event becomes one queued delivery per endpoint that wants it.

The dispatcher calls `deliver` inside its transaction, so the deliveries commit with the
sink's offset: a batch is queued exactly once, and a batch offered again (after a crash
between the commit and the offset) queues nothing new (`(endpoint, event_id)` is unique).
No HTTP here: the delivery worker sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence, Set

import orjson

from core.events import Event
from plugins.webhooks import queries
from plugins.webhooks.config import Endpoint
from plugins.webhooks.queries import QueuedDelivery

SINK_NAME = "webhooks"


def payload(event: Event) -> str:
    """The body sent: the Standard Webhooks shape `{"type", "timestamp", "data"}`, where
    `timestamp` is when the change was made (RFC 3339, UTC)."""
    occurred = event.occurred_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return orjson.dumps({"type": event.type, "timestamp": occurred, "data": event.data}).decode()


def deliveries(events: Sequence[Event], endpoints: Sequence[Endpoint],
               disabled: Set[str] = frozenset()) -> list[QueuedDelivery]:
    """One delivery per event and endpoint that wants its type (enabled in config, not
    disabled after failing)."""
    targets = [endpoint for endpoint in endpoints
               if endpoint.enabled and endpoint.name not in disabled]
    queued = []
    for event in events:
        body = None
        for endpoint in targets:
            if endpoint.wants(event.type):
                body = body or payload(event)
                queued.append(QueuedDelivery(endpoint.name, event.id, event.type, body))
    return queued


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class WebhookSink:
    """Satisfies `core.events.EventSink`; `queued` is called after deliveries were queued
    (it wakes the delivery worker)."""

    name = SINK_NAME

    def __init__(self, endpoints: Sequence[Endpoint],
                 queued: Callable[[], None] = lambda: None) -> None:
        self.endpoints = list(endpoints)
        self.queued = queued

    async def deliver(self, events: Sequence[Event]) -> None:
        if not any(endpoint.enabled for endpoint in self.endpoints):
            return
        found = deliveries(events, self.endpoints, await queries.disabled_endpoints())
        if found:
            await queries.enqueue(found, _now())
            self.queued()
