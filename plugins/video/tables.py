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
    # The uploader's display name when the video was created (null for older videos).
    uploader_name = Text(null=True, default=None)
    # S3's additional checksum of the upload, read at metadata time: its algorithm
    # ("SHA256", "CRC32C", ...) and base64 value ("<base64>-<parts>" for a multipart object).
    checksum_algorithm = Varchar(length=16, null=True, default=None)
    checksum = Varchar(length=128, null=True, default=None)
    # The transcoder's last progress report while IN_PROGRESS (cleared by every status
    # change and every new lease): percent done, the stage it is in, seconds it expects.
    progress = Integer(null=True, default=None)
    progress_stage = Varchar(length=32, null=True, default=None)
    progress_eta_seconds = Integer(null=True, default=None)
    # A FAILED video's failure code (plugins.video.states.FailureCode); null otherwise.
    failure_code = Varchar(length=32, null=True, default=None)
    # The transcoder's lease (plugins/video/leases/): the SHA-256 of its token, when it
    # ends, and how many leases were claimed since the video last entered IN_PROGRESS.
    lease_token_hash = Varchar(length=64, null=True, default=None)
    lease_expires_at = Timestamptz(null=True, default=None, index=True)
    lease_attempts = Integer(default=0)
    # The outputs reported with COMPLETED, as JSON text (plugins/video/playback/outputs.py):
    # read with the row, so a video and its renditions stay one primary-key lookup.
    outputs = Text(null=True, default=None)
    # Not declared, never written by the app: the search index of title and description,
    # `search_vector` (a generated column, PostgreSQL) or the FTS5 table `videos_search`
    # (SQLite), made by a migration (plugins/video/search.py).


class VideoViewCount(Table, tablename="video_view_counts"):
    """A video's views counted so far, added to by the view flusher (plugins/video/views/).
    A row of its own, not a column of `videos`: adding to a narrow row costs the database a
    fraction of updating a video's, which mostly found no room on its page, so wrote to
    every index, and recomputed the search vector (docs/decisions.md). No row is no view
    yet. `video_id` references `videos` and goes with its video (ON DELETE CASCADE, made by
    its migration)."""

    video_id = UUID(primary_key=True)
    views = BigInt()


class VideoStatusHistory(Table, tablename="video_status_history"):
    # Indexed with `id` by a migration (`video_status_history_video_id_idx`): history pages.
    video = ForeignKey(references=Video, on_delete=OnDelete.cascade, null=False)
    # None for the row written when the video is created.
    from_status = Varchar(length=16, null=True, default=None)
    to_status = Varchar(length=16)
    changed_at = Timestamptz()
    # "user:<actor id>" or "service:<principal id>".
    changed_by = Varchar(length=255)
    reason = Text(null=True, default=None)


class VideoDeletion(Table, tablename="video_deletions"):
    """A deleted video's S3 objects, removed by the deletion worker; the row stays as the
    tombstone of its key, which no metadata may register again."""

    id = UUID(primary_key=True)
    video_id = UUID()
    owner_id = Varchar(length=255)
    video_s3_key = Varchar(length=S3_KEY_LENGTH, unique=True)
    # JSON: the objects and prefixes to remove (plugins.video.deletion.queries.Target).
    targets = Text()
    deleted_at = Timestamptz()
    # When a worker may next claim the job (a lease or a retry's backoff); null once done.
    due_at = Timestamptz(null=True, default=None, index=True)
    # Claims so far; a worker finishes a job only if no later claim took it over.
    attempts = Integer(default=0)
    finished_at = Timestamptz(null=True, default=None)
    last_error = Text(null=True, default=None)


class VideoMultipartUpload(Table, tablename="video_multipart_uploads"):
    """The ledger of multipart uploads (plugins/video/multipart/): who started which, where
    it goes, what was declared. Indexed on `(owner_id, created_at)` by its migration."""

    id = UUID(primary_key=True)
    owner_id = Varchar(length=255)
    s3_key = Varchar(length=S3_KEY_LENGTH, unique=True)
    # S3's UploadId: never shown to clients.
    s3_upload_id = Text()
    content_type = Varchar(length=255)
    size_bytes = BigInt()
    part_size = BigInt()
    # "SHA256" or "CRC32C", or null when the client declared none.
    checksum_algorithm = Varchar(length=16, null=True, default=None)
    # ACTIVE, COMPLETED or ABORTED.
    state = Varchar(length=16)
    created_at = Timestamptz()
    # An ACTIVE upload past this is abandoned: refused to its owner, left to clean-up.
    expires_at = Timestamptz(index=True)
    completed_at = Timestamptz(null=True, default=None)
    # The completed object's composite checksum ("<base64>-<parts>"), when one was declared.
    checksum = Text(null=True, default=None)
