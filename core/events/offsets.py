"""One delivery step of one sink: its offset row locked, the next settled batch handed to
the sink, the offset advanced, all in one transaction.

PostgreSQL: the offset row is taken `FOR UPDATE SKIP LOCKED`, so of several processes one
delivers a sink's batch and the others skip it, and a crash mid-delivery leaves the offset
where it was. SQLite: holding its only write lock while a sink talks to the network would
stop every write, so the batch is read and delivered first and the offset then moved
forward only from where it was read (compare and set); a second process on the same file
can at worst deliver a batch twice, never skip one.
"""

from __future__ import annotations

import datetime as dt

from core.db import write_transaction
from core.events import outbox
from core.events.model import EventSink
from core.events.tables import EventOutbox, EventSinkOffset


async def ensure_offset(sink_name: str) -> None:
    """Create a sink's offset at the settled end of the outbox the first time it is seen:
    a new sink takes the events recorded from then on (`events_since` reads the past)."""
    now = dt.datetime.now(dt.UTC)
    async with write_transaction(EventOutbox):
        exists = await EventSinkOffset.raw(
            "SELECT name FROM event_sink_offsets WHERE name = {}", sink_name)
        if exists:
            return
        head = await outbox.settled_through()
        await EventSinkOffset.raw(
            "INSERT INTO event_sink_offsets (name, last_id, updated_at) VALUES ({}, {}, {}) "
            "ON CONFLICT (name) DO NOTHING", sink_name, head, now)


async def deliver_next(sink: EventSink, batch_size: int) -> int:
    """Hand `sink` its next batch; return how many events it took (0: nothing due, or
    another process holds the sink). An exception from the sink propagates and the
    offset stays."""
    if outbox.is_postgres():
        return await _deliver_postgres(sink, batch_size)
    return await _deliver_sqlite(sink, batch_size)


async def _deliver_postgres(sink: EventSink, batch_size: int) -> int:
    async with EventOutbox._meta.db.transaction():
        rows = await EventSinkOffset.raw(
            "SELECT last_id FROM event_sink_offsets WHERE name = {} FOR UPDATE SKIP LOCKED",
            sink.name)
        if not rows:
            return 0
        batch = await outbox.settled_batch(rows[0]["last_id"], batch_size)
        if not batch:
            return 0
        await sink.deliver(batch)
        await EventSinkOffset.raw(
            "UPDATE event_sink_offsets SET last_id = {}, updated_at = {} WHERE name = {}",
            batch[-1].id, dt.datetime.now(dt.UTC), sink.name)
    return len(batch)


async def _deliver_sqlite(sink: EventSink, batch_size: int) -> int:
    rows = await EventSinkOffset.raw(
        "SELECT last_id FROM event_sink_offsets WHERE name = {}", sink.name)
    if not rows:
        return 0
    last_id = rows[0]["last_id"]
    batch = await outbox.settled_batch(last_id, batch_size)
    if not batch:
        return 0
    await sink.deliver(batch)
    async with write_transaction(EventOutbox):
        await EventSinkOffset.raw(
            "UPDATE event_sink_offsets SET last_id = {}, updated_at = {} "
            "WHERE name = {} AND last_id = {}",
            batch[-1].id, dt.datetime.now(dt.UTC), sink.name, last_id)
    return len(batch)


async def offset_of(sink_name: str) -> int | None:
    """Where a sink stands (the last id it took), None before it was first seen."""
    rows = await EventSinkOffset.raw(
        "SELECT last_id FROM event_sink_offsets WHERE name = {}", sink_name)
    return int(rows[0]["last_id"]) if rows else None
