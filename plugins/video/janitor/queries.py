"""The janitor's database work: which listed keys a video or a resumable upload still
claims, and the refusal of orphan video keys before their objects are deleted.

A metadata registration inserts its video row and then, in the same transaction, looks for
a tombstone of its key (`deletion.queries.refuse_deleted_key`). `refuse_orphan_keys`
re-checks and writes the tombstones in a transaction that excludes those inserts (SQLite's
write lock, taken at BEGIN; on PostgreSQL a lock on `videos` that conflicts with every
insert), so each registration either committed before the re-check (the key is kept) or
inserts after the tombstone committed (and is refused): never both.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from core.db import engine_kind, write_transaction
from plugins.video.deletion.queries import Target, _targets_json
from plugins.video.tables import Video, VideoDeletion, VideoMultipartUpload

# Conflicts with the ROW EXCLUSIVE lock an INSERT takes, and with itself (one janitor at a
# time); reads go on.
LOCK_VIDEOS = "LOCK TABLE videos IN SHARE ROW EXCLUSIVE MODE"
# The video id of a tombstone the janitor writes: no video ever had the key.
NO_VIDEO = uuid.UUID(int=0)


async def referenced_video_keys(keys: Sequence[str]) -> set[str]:
    """Which of these raw-bucket keys a video is registered at."""
    if not keys:
        return set()
    rows = await Video.select(Video.video_s3_key).where(Video.video_s3_key.is_in(list(keys)))
    return {row["video_s3_key"] for row in rows}


async def referenced_thumbnail_keys(keys: Sequence[str]) -> set[str]:
    """Which of these thumbnail keys a video shows."""
    if not keys:
        return set()
    rows = await Video.select(Video.thumbnail_s3_key).where(
        Video.thumbnail_s3_key.is_in(list(keys)))
    return {row["thumbnail_s3_key"] for row in rows}


async def recently_uploaded_keys(keys: Sequence[str], cutoff: dt.datetime) -> set[str]:
    """Which of these keys a resumable upload started or completed after `cutoff`: S3 dates
    a multipart object from its upload's start, which may be long before it completed."""
    if not keys:
        return set()
    Ledger = VideoMultipartUpload
    rows = await Ledger.select(Ledger.s3_key).where(
        Ledger.s3_key.is_in(list(keys))
        & ((Ledger.created_at >= cutoff) | (Ledger.completed_at >= cutoff)))
    return {row["s3_key"] for row in rows}


async def recent_upload_ids(upload_ids: Sequence[str], cutoff: dt.datetime) -> set[str]:
    """Which of these S3 upload ids the ledger saw start after `cutoff` (an emulator may
    report any start date)."""
    if not upload_ids:
        return set()
    Ledger = VideoMultipartUpload
    rows = await Ledger.select(Ledger.s3_upload_id).where(
        Ledger.s3_upload_id.is_in(list(upload_ids)) & (Ledger.created_at >= cutoff))
    return {row["s3_upload_id"] for row in rows}


def _owner(key: str) -> str:
    parts = key.split("/")
    return parts[1] if len(parts) == 3 else ""


async def refuse_orphan_keys(bucket: str, keys: Sequence[str], now: dt.datetime) -> list[str]:
    """Of these raw-bucket keys, those no video holds, each refused for good (a tombstone, as
    a deleted video's key has) in one transaction no registration interleaves with: their
    objects may be deleted. A key refused by an earlier sweep is returned again."""
    if not keys:
        return []
    async with write_transaction(Video):
        if engine_kind(Video._meta.db) == "postgres":
            await Video.raw(LOCK_VIDEOS)
        held = await referenced_video_keys(keys)
        orphans = [key for key in keys if key not in held]
        if not orphans:
            return []
        rows = await VideoDeletion.select(VideoDeletion.video_s3_key).where(
            VideoDeletion.video_s3_key.is_in(orphans))
        refused = {row["video_s3_key"] for row in rows}
        fresh = [VideoDeletion(
            id=uuid.uuid4(), video_id=NO_VIDEO, owner_id=_owner(key), video_s3_key=key,
            targets=_targets_json([Target(bucket=bucket, key=key)]), deleted_at=now,
            due_at=None, attempts=0,
        ) for key in orphans if key not in refused]
        if fresh:
            await VideoDeletion.insert(*fresh)
    return orphans


async def mark_removed(keys: Sequence[str], now: dt.datetime) -> None:
    """The janitor's tombstones of these keys: their objects are gone. (A deletion job the
    worker runs has a `due_at` until it finishes: left to the worker.)"""
    if keys:
        await VideoDeletion.update({VideoDeletion.finished_at: now}).where(
            VideoDeletion.video_s3_key.is_in(list(keys))
            & VideoDeletion.due_at.is_null() & VideoDeletion.finished_at.is_null())
