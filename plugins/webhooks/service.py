"""What the operator asks of webhooks: replay events from the outbox, see each endpoint's
state, enable one again. No web framework here: the CLI and tests drive it."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import orjson

from core.events import events_since
from plugins.webhooks import queries
from plugins.webhooks.config import Endpoint, WebhooksSettings
from plugins.webhooks.sink import deliveries

# Outbox events read per page by a replay.
REPLAY_PAGE = 500


class UnknownEndpoint(Exception):
    """No configured endpoint has that name (or, for a replay, none that is on)."""


def config_digest(endpoint: Endpoint) -> str:
    """What, changed in config, turns a disabled endpoint back on: url, types, enabled."""
    text = orjson.dumps([endpoint.url, sorted(endpoint.event_types), endpoint.enabled],
                        option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()


def parse_since(text: str) -> tuple[int | None, dt.datetime | None]:
    """`--since`: an outbox id (that event and later ones) or an RFC 3339 time with its
    offset (events that occurred then or later). ValueError names what was expected."""
    text = text.strip()
    if text.isdigit():
        return int(text), None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--since: expected an event id or an RFC 3339 time "
                         f"(2026-12-02T14:00:00Z), got {text!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"--since: {text!r} has no offset; add Z or +HH:MM")
    return None, when.astimezone(dt.UTC)


def _endpoints(settings: WebhooksSettings, name: str | None,
               *, enabled_only: bool = True) -> list[Endpoint]:
    found = [endpoint for endpoint in settings.named_endpoints()
             if (name is None or endpoint.name == name)
             and (endpoint.enabled or not enabled_only)]
    if name is not None and not found:
        raise UnknownEndpoint(name)
    return found


async def replay(settings: WebhooksSettings, *, from_id: int | None = None,
                 since: dt.datetime | None = None, endpoint: str | None = None,
                 now: dt.datetime | None = None) -> int:
    """Queue again every outbox event from id `from_id` or time `since` on, for every
    endpoint on in config wanting it (or just `endpoint`), due now and at the start of the
    retry schedule; deliveries never queued (an endpoint added since) are queued. Each
    keeps its event's `webhook-id`. Returns the number of deliveries queued."""
    targets = _endpoints(settings, endpoint)
    now = now or dt.datetime.now(dt.UTC)
    after = None if from_id is None else from_id - 1
    queued = 0
    while True:
        events = await events_since(after_id=after, since=since, limit=REPLAY_PAGE)
        if not events:
            return queued
        found = deliveries(events, targets)
        await queries.requeue(found, now)
        queued += len(found)
        after = events[-1].id


async def status(settings: WebhooksSettings) -> list[dict[str, Any]]:
    """Each configured endpoint: on or off, disabled since when and why, failing since
    when, and its deliveries pending, delivered and abandoned."""
    states = await queries.endpoint_states()
    counts = await queries.delivery_counts()
    report = []
    for endpoint in settings.named_endpoints():
        state = states.get(endpoint.name, {})
        report.append({
            "name": endpoint.name,
            "url": endpoint.url,
            "enabled_in_config": endpoint.enabled,
            "disabled_at": _iso(state.get("disabled_at")),
            "disabled_reason": state.get("disabled_reason"),
            "failing_since": _iso(state.get("failing_since")),
            **counts.get(endpoint.name, {"pending": 0, "delivered": 0, "abandoned": 0}),
        })
    return report


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


async def enable(settings: WebhooksSettings, name: str) -> bool:
    """Turn a disabled endpoint back on; False when it was not disabled."""
    _endpoints(settings, name, enabled_only=False)
    return await queries.enable(name)
