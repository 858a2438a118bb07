"""The video plugin's events (core.events), each recorded in the transaction of its
change as that transaction's last statement. Payloads carry the public shape of the video
(docs/events.md): never the upload's checksum, never a URL (they expire)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.events import record, row_values
from plugins.video.models import VideoRecord

UPLOAD_FIELDS = ("s3_key", "owner_id", "content_type", "size_bytes")


def video_data(video: VideoRecord) -> dict[str, Any]:
    """The video as events show it."""
    return {
        "id": str(video.id),
        "title": video.title,
        "description": video.description,
        "visibility": video.visibility.value,
        "processing_status": video.processing_status.value,
        "user_id": video.owner_id,
        "uploader": {"id": video.owner_id, "name": video.uploader_name},
        "video_s3_key": video.video_s3_key,
        "thumbnail_s3_key": video.thumbnail_s3_key,
        "size_bytes": video.size_bytes,
        "content_type": video.content_type,
        "duration_seconds": video.duration_seconds,
        "failure_reason": video.failure_reason,
        "failure_code": video.failure_code,
        "created_at": video.created_at.isoformat(),
        "updated_at": video.updated_at.isoformat(),
        "version": video.version,
    }


async def record_created(video: VideoRecord) -> None:
    await record("video.created", str(video.id), video.owner_id, video_data(video))


def status_changed(current: VideoRecord, changed: VideoRecord,
                   reason: str | None) -> list[Any]:
    """The outbox values (`core.events.row_values`) of a status change's event."""
    data = {**video_data(changed), "from": current.processing_status.value,
            "to": changed.processing_status.value, "reason": reason}
    return row_values("video.status_changed", str(changed.id), changed.owner_id, data)


async def record_progress(changed: VideoRecord) -> None:
    data = {**video_data(changed), "progress": changed.progress,
            "stage": changed.progress_stage, "eta_seconds": changed.progress_eta_seconds,
            "attempt": changed.lease_attempts or None}
    await record("video.progress", str(changed.id), changed.owner_id, data)


async def record_updated(changed: VideoRecord, fields: Iterable[str]) -> None:
    data = {**video_data(changed), "changes": sorted(fields)}
    await record("video.updated", str(changed.id), changed.owner_id, data)


async def record_deleted(video: VideoRecord) -> None:
    await record("video.deleted", str(video.id), video.owner_id, video_data(video))


async def record_upload_completed(upload: dict[str, Any]) -> None:
    """`upload`: the ledger row's `id` and `UPLOAD_FIELDS`."""
    data = {"upload_id": str(upload["id"]), "video_s3_key": upload["s3_key"],
            "content_type": upload["content_type"], "size_bytes": upload["size_bytes"]}
    await record("upload.completed", str(upload["id"]), upload["owner_id"], data)
