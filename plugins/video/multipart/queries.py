"""The ledger in the database: one row per multipart upload, moved out of ACTIVE once."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from core.db import write_transaction
from plugins.video import outbox
from plugins.video.multipart.models import ChecksumAlgorithm, UploadRecord, UploadState
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


async def insert(record: UploadRecord) -> None:
    await Ledger.insert(Ledger(
        id=record.id, owner_id=record.owner_id, s3_key=record.s3_key,
        s3_upload_id=record.s3_upload_id, content_type=record.content_type,
        size_bytes=record.size_bytes, part_size=record.part_size,
        checksum_algorithm=record.checksum_algorithm.value if record.checksum_algorithm else None,
        state=record.state.value, created_at=record.created_at, expires_at=record.expires_at,
        completed_at=record.completed_at, checksum=record.checksum,
    ))


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
