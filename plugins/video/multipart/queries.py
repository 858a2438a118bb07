"""The ledger in the database: one row per multipart upload, moved out of ACTIVE once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from core.db import write_transaction
from plugins.video import outbox
from plugins.video.multipart.models import ChecksumAlgorithm, UploadRecord, UploadState
from plugins.video.statements import Statement
from plugins.video.tables import VideoMultipartUpload as Ledger


def _record(row: dict[str, Any]) -> UploadRecord:
    algorithm = row["checksum_algorithm"]
    return UploadRecord(
        id=row["id"], owner_id=row["owner_id"], s3_key=row["s3_key"],
        s3_upload_id=row["s3_upload_id"], content_type=row["content_type"],
        size_bytes=int(row["size_bytes"]), part_size=int(row["part_size"]),
        checksum_algorithm=ChecksumAlgorithm(algorithm) if algorithm else None,
        state=UploadState(row["state"]), created_at=row["created_at"],
        expires_at=row["expires_at"], completed_at=row["completed_at"],
        checksum=row["checksum"],
    )


# Every upload started writes one: the query builder would cost more CPU than the write.
INSERT = Statement(
    "INSERT INTO video_multipart_uploads (id, owner_id, s3_key, s3_upload_id, content_type, "
    "size_bytes, part_size, checksum_algorithm, state, created_at, expires_at, completed_at, "
    "checksum) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")


async def insert(record: UploadRecord) -> None:
    await INSERT.fetch(
        record.id, record.owner_id, record.s3_key, record.s3_upload_id, record.content_type,
        record.size_bytes, record.part_size,
        record.checksum_algorithm.value if record.checksum_algorithm else None,
        record.state.value, record.created_at, record.expires_at, record.completed_at,
        record.checksum,
    )


async def fetch(upload_id: uuid.UUID) -> UploadRecord | None:
    row = await Ledger.select().where(Ledger.id == upload_id).first()
    return _record(row) if row is not None else None


async def mark_completed(upload_id: uuid.UUID, checksum: str | None, now: dt.datetime) -> bool:
    """ACTIVE → COMPLETED, with its `upload.completed` event in the same transaction;
    False when the upload had already left ACTIVE."""
    async with write_transaction(Ledger):
        changed = await Ledger.update({
            Ledger.state: UploadState.COMPLETED.value, Ledger.completed_at: now,
            Ledger.checksum: checksum,
        }).where(
            (Ledger.id == upload_id) & (Ledger.state == UploadState.ACTIVE.value)
        ).returning(Ledger.id, *(getattr(Ledger, name) for name in outbox.UPLOAD_FIELDS))
        if not changed:
            return False
        await outbox.record_upload_completed(changed[0])
    return True


async def mark_aborted(upload_id: uuid.UUID) -> bool:
    """ACTIVE → ABORTED; False when the upload had already left ACTIVE."""
    changed = await Ledger.update({Ledger.state: UploadState.ABORTED.value}).where(
        (Ledger.id == upload_id) & (Ledger.state == UploadState.ACTIVE.value)
    ).returning(Ledger.id)
    return bool(changed)
