"""The video plugin's tables. Indexes beyond single columns live in the migrations."""

from __future__ import annotations

from piccolo.columns import (
    UUID,
    BigInt,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

# S3 keys are at most 1024 bytes.
S3_KEY_LENGTH = 1024


class Video(Table, tablename="videos"):
    id = UUID(primary_key=True)
    # The actor id, opaque: no foreign key into an auth plugin's tables.
    owner_id = Varchar(length=255)
    title = Varchar(length=200)
    description = Text(default="")
    visibility = Varchar(length=16)
    processing_status = Varchar(length=16)
    video_s3_key = Varchar(length=S3_KEY_LENGTH, unique=True)
    thumbnail_s3_key = Varchar(length=S3_KEY_LENGTH, null=True, default=None)
    size_bytes = BigInt()
    content_type = Varchar(length=255)
    failure_reason = Text(null=True, default=None)
    duration_seconds = DoublePrecision(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    # Bumped by every status change; updates compare and set it (optimistic concurrency).
    version = Integer(default=1)


class VideoStatusHistory(Table, tablename="video_status_history"):
    video = ForeignKey(references=Video, on_delete=OnDelete.cascade, null=False, index=True)
    # None for the row written when the video is created.
    from_status = Varchar(length=16, null=True, default=None)
    to_status = Varchar(length=16)
    changed_at = Timestamptz()
    # "user:<actor id>" or "service:<principal id>".
    changed_by = Varchar(length=255)
    reason = Text(null=True, default=None)
