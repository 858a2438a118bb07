"""A status change written: the row compared and set on its version, its history row and
its `video.status_changed` event, all or nothing. On PostgreSQL that is one prepared
statement; on SQLite three in a write transaction (it has no writing CTEs)."""

from __future__ import annotations

from typing import Any

from core.db import engine_kind, write_transaction
from core.events import insert_row
from plugins.video import outbox, statements
from plugins.video.models import VideoRecord
from plugins.video.tables import Video

# The values of `statements.CHANGE_STATUS` ($1, $2 and the changed row's).
_CHANGE_VALUES = 2 + len(statements.STATUS_VALUES)


async def compare_and_set_status(
    current: VideoRecord, changed: VideoRecord, changed_by: str, reason: str | None
) -> bool:
    """Write `changed` only if the row still has `current.version`, with a history row and
    the event in the same transaction. False means another update won: reload and decide
    again."""
    values = [current.id, current.version, *_status_values(changed),
              current.processing_status.value, changed_by, reason]
    event = outbox.status_changed(current, changed, reason)
    if engine_kind(Video._meta.db) == "postgres":
        return bool(await statements.CHANGE_STATUS_RECORDED.fetch(*values, *event))
    async with write_transaction(Video):
        if not await statements.CHANGE_STATUS.fetch(*values[:_CHANGE_VALUES]):
            return False
        await statements.RECORD_HISTORY.fetch(*values)
        await insert_row(event)
    return True


def _status_values(changed: VideoRecord) -> list[Any]:
    row = {name: getattr(changed, name) for name in statements.STATUS_VALUES}
    row["processing_status"] = changed.processing_status.value
    return list(row.values())
