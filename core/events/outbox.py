"""Writing and reading the outbox.

On PostgreSQL an id is drawn from the sequence when the row is inserted, not when its
transaction commits: a transaction that commits late can carry a lower id than rows
already visible. Every writer therefore holds a shared advisory lock (`OUTBOX_LOCK_KEY`)
from its insert to its commit, and a reader that meets a gap in the ids takes the same
lock exclusively for an instant (`settled_through`): once it has it, every id drawn so
far belongs to a finished transaction, so a gap below the largest id then visible is a
rolled-back insert, never an event still to come. Readers use `settled_through` only
when they meet a gap; writers never wait for each other. SQLite serialises writers at
BEGIN, so its ids are in commit order already (docs/events.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import orjson
from piccolo.engine.postgres import PostgresEngine

from core.events.model import EVENT_TYPES, Event
from core.events.tables import EventOutbox

# Any constant works: it names the lock every outbox writer shares (see above).
OUTBOX_LOCK_KEY = 0x17_75_E0_01
# Longest a reader waits to settle a gap before giving up this time.
SETTLE_TIMEOUT = "2s"

_COLUMNS = "id, type, subject, owner_id, occurred_at, data"
INSERT_COLUMNS = "type, subject, owner_id, occurred_at, data"
_PARAMETER_TYPES = ("text", "text", "text", "timestamptz", "text")
_INSERT_POSTGRES = (
    f"INSERT INTO event_outbox ({INSERT_COLUMNS}) "
    "SELECT {}, {}, {}, {}, {} FROM pg_advisory_xact_lock_shared({})"
)
_INSERT_SQLITE = (
    f"INSERT INTO event_outbox ({INSERT_COLUMNS}) VALUES ({{}}, {{}}, {{}}, {{}}, {{}})"
)


def _engine() -> Any:
    return EventOutbox._meta.db


def is_postgres() -> bool:
    return isinstance(_engine(), PostgresEngine)


def row_values(event_type: str, subject: str, owner_id: str | None,
               data: dict[str, Any]) -> list[Any]:
    """An event's outbox values, in `INSERT_COLUMNS` order, stamped now."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return [event_type, subject, owner_id, dt.datetime.now(dt.UTC), orjson.dumps(data).decode()]


def insert_from(source: str, first_parameter: int) -> str:
    """PostgreSQL: an INSERT of one event (the values of `row_values` as parameters
    `$first_parameter` on) for each row of `source`, a CTE of the same statement that
    changes what the event tells. A change and its event then commit as one statement,
    the outbox lock held from the id drawn until that commit, as `record` holds it."""
    values = ", ".join(f"${first_parameter + offset}::{kind}"
                       for offset, kind in enumerate(_PARAMETER_TYPES))
    return (f"INSERT INTO event_outbox ({INSERT_COLUMNS}) SELECT {values} "
            f"FROM {source}, pg_advisory_xact_lock_shared({OUTBOX_LOCK_KEY}) RETURNING id")


async def record(event_type: str, subject: str, owner_id: str | None,
                 data: dict[str, Any]) -> None:
    """Append an event to the outbox. Call it inside the caller's open write transaction
    (`core.db.write_transaction`), as its last statement: the event commits or rolls
    back with the change, and on PostgreSQL the outbox lock is held only until commit."""
    await insert_row(row_values(event_type, subject, owner_id, data))


async def insert_row(values: list[Any]) -> None:
    """`record` for the values `row_values` made."""
    if not _engine().transaction_exists():
        raise RuntimeError("core.events.record must be called inside a write transaction")
    if is_postgres():
        await EventOutbox.raw(_INSERT_POSTGRES, *values, OUTBOX_LOCK_KEY)
    else:
        await EventOutbox.raw(_INSERT_SQLITE, *values)


def event_of(row: dict[str, Any]) -> Event:
    occurred_at = row["occurred_at"]
    if isinstance(occurred_at, str):
        occurred_at = dt.datetime.fromisoformat(occurred_at)
    return Event(id=row["id"], type=row["type"], subject=row["subject"],
                 owner_id=row["owner_id"], occurred_at=occurred_at.astimezone(dt.UTC),
                 data=orjson.loads(row["data"]))


async def rows_after(after_id: int, limit: int, through: int | None = None) -> list[Event]:
    """Up to `limit` events after `after_id` (and at most `through`), in id order."""
    sql = f"SELECT {_COLUMNS} FROM event_outbox WHERE id > {{}}"
    args: list[Any] = [after_id]
    if through is not None:
        sql += " AND id <= {}"
        args.append(through)
    rows = await EventOutbox.raw(sql + " ORDER BY id LIMIT {}", *args, limit)
    return [event_of(row) for row in rows]


async def settled_through() -> int:
    """The largest id such that every id up to it is final: committed, or never to be
    (a rolled-back insert). Run inside a transaction on PostgreSQL: it waits for the
    outbox writers in flight to finish (at most `SETTLE_TIMEOUT`)."""
    if not is_postgres():
        rows = await EventOutbox.raw("SELECT coalesce(max(id), 0) AS id FROM event_outbox")
        return int(rows[0]["id"])
    await EventOutbox.raw(f"SET LOCAL lock_timeout = '{SETTLE_TIMEOUT}'")
    await EventOutbox.raw("SELECT pg_advisory_lock({})", OUTBOX_LOCK_KEY)
    try:
        rows = await EventOutbox.raw("SELECT coalesce(max(id), 0) AS id FROM event_outbox")
    finally:
        await EventOutbox.raw("SELECT pg_advisory_unlock({})", OUTBOX_LOCK_KEY)
    return int(rows[0]["id"])


async def settled_batch(after_id: int, limit: int) -> list[Event]:
    """The next events after `after_id` that can never be preceded by one still to
    commit: the run of consecutive ids straight after `after_id`, or, when the next id is
    missing, everything up to the settled point (`settled_through`)."""
    events = await rows_after(after_id, limit)
    if not events or not is_postgres():
        return events
    consecutive = 0
    for expected, event in enumerate(events, start=after_id + 1):
        if event.id != expected:
            break
        consecutive += 1
    if consecutive:
        return events[:consecutive]
    # Read again once settled: the gap may have been a late commit now visible.
    return await rows_after(after_id, limit, through=await settled_through())


async def events_since(*, after_id: int | None = None, since: dt.datetime | None = None,
                       owner_id: str | None = None, types: Collection[str] | None = None,
                       limit: int = 500) -> list[Event]:
    """Events from the outbox in id order, filtered: after an id, from a time on, of one
    owner, of some types. On PostgreSQL only settled ids are read (no event a later
    commit could still slip in before), so resuming after the last id seen never skips."""
    clauses: list[str] = ["1 = 1"]
    args: list[Any] = []
    if after_id is not None:
        clauses.append("id > {}")
        args.append(after_id)
    if since is not None:
        clauses.append("occurred_at >= {}")
        args.append(since.astimezone(dt.UTC))
    if owner_id is not None:
        clauses.append("owner_id = {}")
        args.append(owner_id)
    if types is not None:
        if not types:
            return []
        clauses.append(f"type IN ({', '.join('{}' for _ in types)})")
        args.extend(types)
    if is_postgres():
        async with _engine().transaction():
            clauses.append("id <= {}")
            args.append(await settled_through())
    where = " AND ".join(clauses)
    rows = await EventOutbox.raw(
        f"SELECT {_COLUMNS} FROM event_outbox WHERE {where} ORDER BY id LIMIT {{}}",
        *args, limit,
    )
    return [event_of(row) for row in rows]
