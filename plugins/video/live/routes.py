"""HTTP in, HTTP out: the owner's live event stream (Server-Sent Events)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.context import AppContext
from core.deps import current_actor, get_ctx
from core.errors import ValidationFailed
from core.events import Event
from core.routing import Param, api_route
from plugins.video.live.models import LiveEventOut
from plugins.video.live.service import LiveStream, Marker, open_stream

PREFIX = "/api/v1/upload/videos"
TAGS = ["videos"]
# The largest outbox id a client may send back (a PostgreSQL bigint).
MAX_EVENT_ID = 2**63 - 1
RESUME_PARAMS = [
    Param("Last-Event-ID", location="header",
          description="The `id` of the last message received: the stream first sends "
                      "every event of yours after it, then live ones (browsers' "
                      "EventSource sends it by itself when it reconnects)",
          schema={"pattern": "^[0-9]{1,19}$"}),
    Param("last_event_id", type=int,
          description="The same as the `Last-Event-ID` header, for clients that cannot set "
                      "headers; the header wins when both are given",
          schema={"minimum": 0}),
]
EVENTS_NOTE = (
    "Server-Sent Events (`text/event-stream`) for the caller's own videos: each message's "
    "`id` is the event's id, its `event` the event type, its `data` the JSON below. A "
    "comment line (`: heartbeat`) comes every `live_heartbeat_seconds` while nothing "
    "happens; the stream opens with `: open` once it is subscribed. Reconnect with "
    "`Last-Event-ID` to receive what was missed, without duplicates. At most "
    "`live_max_streams_per_user` open streams per user: one more is a 429 with Retry-After. "
    "Delivery is at least once: the id is the dedupe key."
)


def last_event_id(request: Request) -> int | None:
    """The id to resume after: the `Last-Event-ID` header, else `?last_event_id=`."""
    for field, value in (("Last-Event-ID", request.headers.get("last-event-id")),
                         ("last_event_id", request.query_params.get("last_event_id"))):
        if value is None:
            continue
        value = value.strip()
        if not value.isascii() or not value.isdigit() or int(value) > MAX_EVENT_ID:
            raise ValidationFailed.field(field, "must be the id of an event (a whole number "
                                                "of 0 or more)")
        return int(value)
    return None


def event_message(event: Event) -> ServerSentEvent:
    data = {"type": event.type, "subject": event.subject,
            "occurred_at": event.occurred_at.isoformat(), "data": event.data}
    return ServerSentEvent(data=orjson.dumps(data).decode(), event=event.type, id=str(event.id))


async def _messages(stream: LiveStream) -> AsyncIterator[ServerSentEvent]:
    async with contextlib.aclosing(stream.messages()) as items:
        async for item in items:
            if isinstance(item, Marker):
                yield ServerSentEvent(comment=item.name)
            else:
                yield event_message(item)


async def live_events(request: Request) -> Response:
    actor = await current_actor(request)
    after_id = last_event_id(request)
    stream = await open_stream(get_ctx(request), actor.id, after_id)
    # Heartbeats are the stream's own (they also renew its slot): the library's pings are off.
    # The background release covers a HEAD, whose stream never starts.
    return EventSourceResponse(_messages(stream), ping=0, sep="\n",
                               background=BackgroundTask(stream.slot.release))


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [
        api_route(f"{PREFIX}/events", live_events, methods=["GET"],
                  summary="Live events of your own videos (Server-Sent Events)",
                  description=EVENTS_NOTE, response=LiveEventOut,
                  response_media_type="text/event-stream", auth="user",
                  params=RESUME_PARAMS, errors=[422, 429, 503], tags=TAGS),
    ]
