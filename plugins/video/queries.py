"""Every database query the video plugin makes (Piccolo, both engines)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import attrs
from piccolo.columns.combination import WhereRaw

from core.db import INTEGRITY_ERRORS, is_unique_violation, write_transaction
from plugins.video.models import VideoRecord
from plugins.video.pagination import Cursor
from plugins.video.states import Status, Visibility
from plugins.video.tables import Video, VideoStatusHistory

# Repeated literally (not as bound parameters) so the planners can use the partial index
# `videos_public_listing_idx`, whose predicate is exactly this.
PUBLIC_AND_COMPLETED = WhereRaw("visibility = 'PUBLIC' AND processing_status = 'COMPLETED'")


class DuplicateKey(Exception):
    """Another video already registered this S3 key."""


def _record(row: dict[str, Any]) -> VideoRecord:
    return VideoRecord(
        id=row["id"],
        owner_id=row["owner_id"],
        title=row["title"],
        description=row["description"],
        visibility=Visibility(row["visibility"]),
        processing_status=Status(row["processing_status"]),
        video_s3_key=row["video_s3_key"],
        thumbnail_s3_key=row["thumbnail_s3_key"],
        size_bytes=row["size_bytes"],
        content_type=row["content_type"],
        failure_reason=row["failure_reason"],
        duration_seconds=row["duration_seconds"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


def _row(record: VideoRecord) -> dict[str, Any]:
    row = attrs.asdict(record, recurse=False)
    row["visibility"] = record.visibility.value
    row["processing_status"] = record.processing_status.value
    return row


async def fetch(video_id: uuid.UUID) -> VideoRecord | None:
    row = await Video.select().where(Video.id == video_id).first()
    return _record(row) if row else None


async def id_for_key(key: str) -> uuid.UUID | None:
    row = await id_for_key_query(key)
    return row["id"] if row else None


async def key_exists(key: str) -> bool:
    return await Video.exists().where(Video.video_s3_key == key)


def _history(
    video_id: uuid.UUID, old: Status | None, new: Status, at: dt.datetime, by: str,
    reason: str | None,
) -> VideoStatusHistory:
    return VideoStatusHistory(
        video=video_id,
        from_status=old.value if old else None,
        to_status=new.value,
        changed_at=at,
        changed_by=by,
        reason=reason,
    )


async def insert_video(record: VideoRecord, changed_by: str) -> None:
    """The video and its first history row, in one transaction."""
    try:
        async with write_transaction(Video):
            await Video.insert(Video(**_row(record)))
            await VideoStatusHistory.insert(
                _history(record.id, None, record.processing_status, record.created_at,
                         changed_by, None)
            )
    except INTEGRITY_ERRORS as exc:
        if is_unique_violation(exc):
            raise DuplicateKey(record.video_s3_key) from None
        raise


async def compare_and_set_status(
    current: VideoRecord, changed: VideoRecord, changed_by: str, reason: str | None
) -> bool:
    """Write `changed` only if the row still has `current.version`, with a history row in
    the same transaction. False means another update won: reload and decide again."""
    async with write_transaction(Video):
        updated = await Video.update(
            {
                Video.processing_status: changed.processing_status.value,
                Video.failure_reason: changed.failure_reason,
                Video.duration_seconds: changed.duration_seconds,
                Video.updated_at: changed.updated_at,
                Video.version: changed.version,
            }
        ).where((Video.id == current.id) & (Video.version == current.version)).returning(Video.id)
        if not updated:
            return False
        await VideoStatusHistory.insert(
            _history(current.id, current.processing_status, changed.processing_status,
                     changed.updated_at, changed_by, reason)
        )
    return True


def _after(cursor: Cursor | None) -> Any:
    if cursor is None:
        return None
    # The first term bounds an index range scan; the second breaks created_at ties by id.
    return (Video.created_at <= cursor.created_at) & (
        (Video.created_at < cursor.created_at) | (Video.id < cursor.id)
    )


def page_query(where: Any, limit: int, cursor: Cursor | None) -> Any:
    """The select behind both listings (built apart so its plan can be checked)."""
    after = _after(cursor)
    if after is not None:
        where = where & after
    return (
        Video.select()
        .where(where)
        .order_by(Video.created_at, Video.id, ascending=False)
        .limit(limit)
    )


def public_filter() -> Any:
    return PUBLIC_AND_COMPLETED


def owner_filter(owner_id: str) -> Any:
    return Video.owner_id == owner_id


async def public_page(limit: int, cursor: Cursor | None) -> list[VideoRecord]:
    """Completed public videos, newest first, after `cursor`."""
    return [_record(row) for row in await page_query(public_filter(), limit, cursor)]


async def owner_page(owner_id: str, limit: int, cursor: Cursor | None) -> list[VideoRecord]:
    """One owner's videos in every state, newest first, after `cursor`."""
    return [_record(row) for row in await page_query(owner_filter(owner_id), limit, cursor)]


def id_for_key_query(key: str) -> Any:
    return Video.select(Video.id).where(Video.video_s3_key == key).first()
