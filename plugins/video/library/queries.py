"""The library's database access (both engines), through Piccolo's query builder."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from piccolo.query import Select

from core.db import write_transaction
from plugins.video import outbox
from plugins.video.models import VideoRecord
from plugins.video.tables import Video, VideoStatusHistory

History = VideoStatusHistory


async def compare_and_set_edit(current: VideoRecord, changed: VideoRecord,
                               fields: Iterable[str] = ()) -> bool:
    """Write `changed`'s editable fields only if the row still has `current.version`, with
    its `video.updated` event (naming `fields`) in the same transaction. False means
    another change won: reload and decide again."""
    async with write_transaction(Video):
        updated = await Video.update(
            {
                Video.title: changed.title,
                Video.description: changed.description,
                Video.visibility: changed.visibility.value,
                Video.thumbnail_s3_key: changed.thumbnail_s3_key,
                Video.updated_at: changed.updated_at,
                Video.version: changed.version,
            }
        ).where((Video.id == current.id) & (Video.version == current.version)
                ).returning(Video.id)
        if not updated:
            return False
        await outbox.record_updated(changed, fields)
    return True


def page_query(video_id: uuid.UUID, after_id: int, limit: int) -> Select:
    """A video's status transitions, oldest first, after the row `after_id` (0: from the
    start); each row has its `id` and the `HistoryEntry` fields. Served by the index on
    `(video, id)`."""
    row_id = History._meta.primary_key  # Piccolo's implicit serial: the order of writing
    return (
        History.select(row_id, History.from_status, History.to_status, History.changed_at,
                       History.changed_by, History.reason)
        .where((History.video == video_id) & (row_id > after_id))
        .order_by(row_id)
        .limit(limit)
    )


async def history_page(video_id: uuid.UUID, after_id: int, limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = await page_query(video_id, after_id, limit)
    return rows
