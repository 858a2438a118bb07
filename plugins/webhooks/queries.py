"""The webhook tables: deliveries queued, claimed and recorded; endpoints' states.

A claim moves a delivery's `next_attempt_at` past its lease and counts the claim; the
claim count is the claim's token, so a worker whose lease ran out (and whose delivery
another worker claimed) records nothing when it finishes late. PostgreSQL claims with
`FOR UPDATE SKIP LOCKED`, so workers on any machine each take different deliveries;
SQLite's write lock, taken at BEGIN, queues them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from core.db import engine_kind, write_transaction
from plugins.webhooks.tables import WebhookDelivery, WebhookEndpointState

# Rows per INSERT: well under both engines' limits on bound parameters.
INSERT_CHUNK = 1000
# Longest error text kept on a delivery.
ERROR_LENGTH = 1000

_CLAIM = (
    "UPDATE webhook_deliveries SET next_attempt_at = {}, attempts = attempts + 1, "
    "claims = claims + 1 WHERE id IN (SELECT id FROM webhook_deliveries "
    "WHERE next_attempt_at <= {} AND endpoint IN (%s) AND endpoint NOT IN "
    "(SELECT name FROM webhook_endpoint_states WHERE disabled_at IS NOT NULL) "
    "ORDER BY next_attempt_at, id LIMIT {}%s) "
    "RETURNING id, endpoint, event_id, payload, attempts, claims"
)
CLAIM = {
    # A list binds as a PostgreSQL array, and as JSON text on SQLite (Piccolo's adapter).
    "postgres": _CLAIM % ("SELECT unnest({}::varchar[])", " FOR UPDATE SKIP LOCKED"),
    "sqlite": _CLAIM % ("SELECT value FROM json_each({})", ""),
}


@attrs.frozen
class QueuedDelivery:
    """A delivery to write: one event for one endpoint."""

    endpoint: str
    event_id: int
    event_type: str
    payload: str


@attrs.frozen
class ClaimedDelivery:
    id: int
    endpoint: str
    event_id: int
    payload: str
    # Attempts since queued, this one included.
    attempts: int
    # The claim's token.
    claims: int


def _rows(queued: Iterable[QueuedDelivery], now: dt.datetime) -> list[WebhookDelivery]:
    return [
        WebhookDelivery(endpoint=item.endpoint, event_id=item.event_id,
                        event_type=item.event_type, payload=item.payload, created_at=now,
                        next_attempt_at=now, attempts=0, claims=0)
        for item in queued
    ]


_ENQUEUE = (
    "INSERT INTO webhook_deliveries (endpoint, event_id, event_type, payload, created_at, "
    "next_attempt_at, attempts, claims) SELECT v.endpoint, v.event_id, v.event_type, "
    "v.payload, {}, {}, 0, 0 FROM %s ON CONFLICT (endpoint, event_id) DO NOTHING"
)
ENQUEUE = {
    # Rows in the order given, so delivery ids follow event ids (the claim's order).
    "postgres": _ENQUEUE % (
        "unnest({}::varchar[], {}::bigint[], {}::varchar[], {}::text[]) WITH ORDINALITY "
        "AS v(endpoint, event_id, event_type, payload, position) ORDER BY v.position"),
    # `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON.
    "sqlite": _ENQUEUE % (
        "(SELECT key AS position, json_extract(value, '$[0]') AS endpoint, "
        "json_extract(value, '$[1]') AS event_id, json_extract(value, '$[2]') AS event_type, "
        "json_extract(value, '$[3]') AS payload FROM json_each({})) AS v "
        "WHERE true ORDER BY v.position"),
}


async def enqueue(queued: Sequence[QueuedDelivery], now: dt.datetime) -> None:
    """Queue each delivery unless its `(endpoint, event_id)` is already queued. Runs in
    the caller's transaction (the dispatcher's), so queueing commits with its offset.
    One prepared statement a chunk, the rows bound as arrays: building a Piccolo insert
    cost more than the database's work."""
    kind = engine_kind(WebhookDelivery._meta.db)
    for start in range(0, len(queued), INSERT_CHUNK):
        rows = [[item.endpoint, item.event_id, item.event_type, item.payload]
                for item in queued[start:start + INSERT_CHUNK]]
        await WebhookDelivery.raw(ENQUEUE[kind], now, now, *_bound(kind, rows))


def _bound(kind: str, rows: list[list[Any]]) -> list[Any]:
    """Rows as statement arguments: one array a column on PostgreSQL, one JSON array of
    rows on SQLite (Piccolo's adapter binds a list as JSON text)."""
    if kind == "postgres":
        return [list(column) for column in zip(*rows, strict=True)]
    return [rows]


async def requeue(queued: Sequence[QueuedDelivery], now: dt.datetime) -> None:
    """Queue each delivery again, due now and at the start of the retry schedule, whether
    it was delivered, abandoned or never queued (a replay)."""
    for start in range(0, len(queued), INSERT_CHUNK):
        rows = _rows(queued[start:start + INSERT_CHUNK], now)
        await WebhookDelivery.insert(*rows).on_conflict(
            target=(WebhookDelivery.endpoint, WebhookDelivery.event_id), action="DO UPDATE",
            values=[(WebhookDelivery.next_attempt_at, now), (WebhookDelivery.attempts, 0),
                    (WebhookDelivery.abandoned_at, None)])


async def claim_due(now: dt.datetime, lease_until: dt.datetime, endpoints: Sequence[str],
                    limit: int) -> list[ClaimedDelivery]:
    """Take up to `limit` deliveries due at `now` for these endpoints (none disabled), the
    longest due first, holding them until `lease_until`."""
    if not endpoints:
        return []
    sql = CLAIM[engine_kind(WebhookDelivery._meta.db)]
    async with write_transaction(WebhookDelivery):
        rows = await WebhookDelivery.raw(sql, lease_until, now, list(endpoints), limit)
    claimed = [ClaimedDelivery(**row) for row in rows]
    return sorted(claimed, key=lambda item: item.id)


def _claimed(delivery: ClaimedDelivery) -> Any:
    return (WebhookDelivery.id == delivery.id) & (WebhookDelivery.claims == delivery.claims)


@attrs.frozen
class Success:
    """A delivery the endpoint took (a 2xx), to be recorded."""

    delivery: ClaimedDelivery
    status: int
    latency_ms: int


_SUCCESSES_SET = (
    "SET next_attempt_at = NULL, delivered_at = {}, last_attempt_at = {}, "
    "last_status_code = v.status, last_latency_ms = v.latency, last_error = NULL"
)
RECORD_SUCCESSES = {
    "postgres": f"UPDATE webhook_deliveries AS d {_SUCCESSES_SET} FROM unnest("
                "{}::bigint[], {}::integer[], {}::integer[], {}::integer[]) "
                "AS v(id, claims, status, latency) WHERE d.id = v.id AND d.claims = v.claims",
    "sqlite": f"UPDATE webhook_deliveries {_SUCCESSES_SET} FROM (SELECT "
              "json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS claims, "
              "json_extract(value, '$[2]') AS status, json_extract(value, '$[3]') AS latency "
              "FROM json_each({})) AS v "
              "WHERE webhook_deliveries.id = v.id AND webhook_deliveries.claims = v.claims",
}


async def record_successes(successes: Sequence[Success], now: dt.datetime) -> None:
    """Record deliveries the endpoints took, in one statement; each only while its claim
    is the latest (a worker whose lease ran out records nothing)."""
    if not successes:
        return
    kind = engine_kind(WebhookDelivery._meta.db)
    rows = [[item.delivery.id, item.delivery.claims, item.status, item.latency_ms]
            for item in successes]
    await WebhookDelivery.raw(RECORD_SUCCESSES[kind], now, now, *_bound(kind, rows))


async def record_success(delivery: ClaimedDelivery, now: dt.datetime, status: int,
                         latency_ms: int) -> None:
    await record_successes([Success(delivery, status, latency_ms)], now)


async def record_failure(delivery: ClaimedDelivery, now: dt.datetime, *, status: int | None,
                         latency_ms: int, error: str, retry_at: dt.datetime | None) -> None:
    """The attempt failed: due again at `retry_at`, or abandoned when it is None."""
    await WebhookDelivery.update({
        WebhookDelivery.next_attempt_at: retry_at,
        WebhookDelivery.abandoned_at: now if retry_at is None else None,
        WebhookDelivery.last_attempt_at: now, WebhookDelivery.last_status_code: status,
        WebhookDelivery.last_latency_ms: latency_ms,
        WebhookDelivery.last_error: error[:ERROR_LENGTH],
    }).where(_claimed(delivery))


# -- endpoints' states ------------------------------------------------------------------------


async def disabled_endpoints() -> set[str]:
    rows = await WebhookEndpointState.select(WebhookEndpointState.name).where(
        WebhookEndpointState.disabled_at.is_not_null())
    return {row["name"] for row in rows}


async def sync_states(digests: dict[str, str]) -> list[str]:
    """Record each configured endpoint's config digest; an endpoint disabled under
    another digest is enabled again. Returns the names enabled again."""
    enabled_again = []
    async with write_transaction(WebhookEndpointState):
        known = {row["name"]: row for row in await WebhookEndpointState.select()}
        for name, digest in digests.items():
            row = known.get(name)
            if row is None:
                await _insert_state(WebhookEndpointState(name=name, config_digest=digest))
                continue
            if row["config_digest"] == digest:
                continue
            values: dict[Any, Any] = {WebhookEndpointState.config_digest: digest}
            if row["disabled_at"] is not None:
                enabled_again.append(name)
                values.update(_enabled())
            await WebhookEndpointState.update(values).where(WebhookEndpointState.name == name)
    return enabled_again


async def _insert_state(row: WebhookEndpointState) -> None:
    # Processes starting together may insert the same endpoint: the first one wins.
    await WebhookEndpointState.insert(row).on_conflict(
        target=WebhookEndpointState.name, action="DO NOTHING")


def _enabled() -> dict[Any, Any]:
    return {WebhookEndpointState.disabled_at: None, WebhookEndpointState.disabled_reason: None,
            WebhookEndpointState.failing_since: None}


async def note_success(name: str) -> None:
    await WebhookEndpointState.update({WebhookEndpointState.failing_since: None}).where(
        (WebhookEndpointState.name == name) & WebhookEndpointState.failing_since.is_not_null())


async def note_failure(name: str, now: dt.datetime) -> dt.datetime:
    """Start the endpoint's failure streak if none is running; returns its start."""
    async with write_transaction(WebhookEndpointState):
        rows = await WebhookEndpointState.select(WebhookEndpointState.failing_since).where(
            WebhookEndpointState.name == name)
        if not rows:
            await _insert_state(WebhookEndpointState(name=name, failing_since=now))
            return now
        since: dt.datetime | None = rows[0]["failing_since"]
        if since is None:
            await WebhookEndpointState.update({WebhookEndpointState.failing_since: now}).where(
                WebhookEndpointState.name == name)
            return now
        return since


async def disable(name: str, now: dt.datetime, reason: str) -> bool:
    """Disable the endpoint; False when it already was (another worker got there first)."""
    rows = await WebhookEndpointState.update({
        WebhookEndpointState.disabled_at: now, WebhookEndpointState.disabled_reason: reason,
    }).where(
        (WebhookEndpointState.name == name) & WebhookEndpointState.disabled_at.is_null()
    ).returning(WebhookEndpointState.name)
    return bool(rows)


async def enable(name: str) -> bool:
    """Enable the endpoint again; False when it was not disabled."""
    rows = await WebhookEndpointState.update(_enabled()).where(
        (WebhookEndpointState.name == name) & WebhookEndpointState.disabled_at.is_not_null()
    ).returning(WebhookEndpointState.name)
    return bool(rows)


async def endpoint_states() -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in await WebhookEndpointState.select()}


async def delivery_counts() -> dict[str, dict[str, int]]:
    """Per endpoint: deliveries pending, delivered (and not pending again) and abandoned."""
    rows = await WebhookDelivery.raw(
        "SELECT endpoint, "
        "SUM(CASE WHEN next_attempt_at IS NOT NULL THEN 1 ELSE 0 END) AS pending, "
        "SUM(CASE WHEN next_attempt_at IS NULL AND delivered_at IS NOT NULL "
        "AND abandoned_at IS NULL THEN 1 ELSE 0 END) AS delivered, "
        "SUM(CASE WHEN abandoned_at IS NOT NULL THEN 1 ELSE 0 END) AS abandoned "
        "FROM webhook_deliveries GROUP BY endpoint")
    return {row["endpoint"]: {key: int(row[key] or 0)
                              for key in ("pending", "delivered", "abandoned")}
            for row in rows}
