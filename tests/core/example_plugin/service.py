"""What the guest book does, with no web framework in sight (a CLI could call it too)."""

from __future__ import annotations

import datetime as dt

import attrs

from core.errors import NotFound
from tests.core.example_plugin.tables import GuestbookEntry


@attrs.define
class Entry:
    """One signed message."""

    id: int
    author: str
    text: str
    created_at: dt.datetime


async def add_entry(author: str, text: str) -> Entry:
    row = GuestbookEntry(author=author, text=text, created_at=dt.datetime.now(dt.UTC))
    await row.save()
    return _entry(row.to_dict())


async def latest_entries(limit: int) -> list[Entry]:
    rows = await GuestbookEntry.select().order_by(GuestbookEntry.id, ascending=False).limit(limit)
    return [_entry(row) for row in rows]


async def get_entry(entry_id: int) -> Entry:
    row = await GuestbookEntry.select().where(GuestbookEntry.id == entry_id).first()
    if row is None:
        raise NotFound(f"No guest book entry {entry_id}")
    return _entry(row)


def _entry(row: dict) -> Entry:
    return Entry(id=row["id"], author=row["author"], text=row["text"],
                 created_at=row["created_at"])


async def delete_entry(entry_id: int) -> None:
    await get_entry(entry_id)
    await GuestbookEntry.delete().where(GuestbookEntry.id == entry_id)
