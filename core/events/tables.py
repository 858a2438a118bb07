"""The kernel's event tables. Made by raw DDL in the migrations (the id must never be
reused, which SQLite promises only with AUTOINCREMENT); declared here for Piccolo."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Text, Timestamptz, Varchar
from piccolo.table import Table


class EventOutbox(Table, tablename="event_outbox"):
    id = BigSerial(primary_key=True)
    type = Varchar(length=64)
    # The resource changed (a video id, an upload id) as text.
    subject = Varchar(length=255)
    owner_id = Varchar(length=255, null=True, default=None)
    occurred_at = Timestamptz()
    # The payload as JSON text.
    data = Text()


class EventSinkOffset(Table, tablename="event_sink_offsets"):
    # The sink's stable name (`EventSink.name`).
    name = Varchar(length=200, primary_key=True)
    # The id of the last event the sink took; the next batch starts after it.
    last_id = BigInt(default=0)
    updated_at = Timestamptz()
