"""What the video plugin takes and returns over HTTP, and the record its events carry."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

import attrs

from core.errors import ValidationFailed
from core.schema import constrained
from plugins.video.keys import MAX_KEY_LENGTH
from plugins.video.states import FailureCode, Status, Visibility

# Canonical base64 of each digest S3 checks, as the pattern an upload-url body's checksum
# must match: SHA-256's 32 bytes, CRC32C's 4 (the last character carries no stray bits).
CHECKSUM_PATTERNS = {
    "SHA256": "[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=",
    "CRC32C": "[A-Za-z0-9+/]{5}[AQgw]==",
}


def _checksum_field(algorithm: str, digest: str) -> Any:
    return constrained(
        None, pattern=CHECKSUM_PATTERNS[algorithm],
        description=f"Base64 of the file's {digest} digest; when given the URL is bound to it "
                    "and S3 refuses any other body (at most one checksum)",
    )


# Without slots: a frozen class with slots sets each field through `object.__setattr__`,
# one call per field, twice the cost of this one's dict (a listing page builds twenty-one).
@attrs.frozen(slots=False)
class VideoRecord:
    """A stored video, as the service and the `on_video_created` / `on_status_changed`
    events see it."""

    id: uuid.UUID
    owner_id: str
    title: str
    description: str
    visibility: Visibility
    processing_status: Status
    video_s3_key: str
    thumbnail_s3_key: str | None
    size_bytes: int
    content_type: str
    failure_reason: str | None
    duration_seconds: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int
    # The uploader's display name when the video was created; None for older videos.
    uploader_name: str | None = None
    # Views counted up to the last flush (plugins/video/views/).
    view_count: int = 0
    # S3's additional checksum of the uploaded object ("SHA256", "CRC32C", ...) and its
    # value (a multipart object's is composite: "<base64>-<parts>"), when S3 has one.
    checksum_algorithm: str | None = None
    checksum: str | None = None
    # The last progress report while IN_PROGRESS (percent, stage, expected seconds left).
    progress: int | None = None
    progress_stage: str | None = None
    progress_eta_seconds: int | None = None
    # A FAILED video's failure code (FailureCode's value).
    failure_code: str | None = None
    # The transcoder's lease: its token's SHA-256 (never the token), its end, and the
    # leases claimed since the video last entered IN_PROGRESS.
    lease_token_hash: str | None = None
    lease_expires_at: dt.datetime | None = None
    lease_attempts: int = 0
    # The outputs reported with COMPLETED, as the JSON text stored with the row
    # (plugins/video/playback/outputs.py reads it); None when none were reported.
    outputs: str | None = None


@attrs.define
class UploadUrlRequest:
    """What the client intends to upload; both fields are optional."""

    content_type: str | None = constrained(
        None, max_length=255, text="line",
        description="MIME type of the file; the URL is bound to it", example="video/mp4",
    )
    size_bytes: int | None = constrained(
        None, minimum=1, description="Declared size; when given the URL is bound to it"
    )
    checksum_sha256: str | None = _checksum_field("SHA256", "SHA-256 (32 bytes)")
    checksum_crc32c: str | None = _checksum_field("CRC32C", "CRC32C (4 bytes, big-endian)")
    __json_schema__: ClassVar[dict[str, Any]] = {"not": {  # not both given
        "required": ["checksum_sha256", "checksum_crc32c"],
        "properties": {"checksum_sha256": {"type": "string"},
                       "checksum_crc32c": {"type": "string"}}}}

    def checksum(self) -> tuple[str, str] | None:
        """The declared (algorithm, base64 digest), if any; 422 when both are given."""
        if self.checksum_sha256 is not None and self.checksum_crc32c is not None:
            raise ValidationFailed.field(
                "checksum_crc32c", "give checksum_sha256 or checksum_crc32c, not both")
        if self.checksum_sha256 is not None:
            return "SHA256", self.checksum_sha256
        if self.checksum_crc32c is not None:
            return "CRC32C", self.checksum_crc32c
        return None


def upload_request_class(
    name: str, content_types: Sequence[str], max_bytes: int
) -> type[UploadUrlRequest]:
    """The upload-url body of one kind of media, publishing the types it may be and the
    largest size it may declare (the configured ones), so the document says what the
    server accepts."""
    content_type = attrs.field(default=None, metadata={
        "description": "MIME type of the file (default: the first listed); the URL is bound to it",
        "enum": [*content_types, None],
        "example": content_types[0],
    })
    size_bytes = constrained(None, minimum=1, maximum=max_bytes,
                             description="Declared size; when given the URL is bound to it")
    return attrs.make_class(name, {
        "content_type": content_type, "size_bytes": size_bytes,
        "checksum_sha256": _checksum_field("SHA256", "SHA-256 (32 bytes)"),
        "checksum_crc32c": _checksum_field("CRC32C", "CRC32C (4 bytes, big-endian)"),
    }, bases=(UploadUrlRequest,), slots=True)


@attrs.define
class UploadUrl:
    """A presigned S3 PUT: send the file to `url` with `method` and every header listed."""

    url: str
    media_id: str = attrs.field(metadata={"description": "The S3 key the file is stored at"})
    method: str
    headers: dict[str, str]
    expires_at: dt.datetime


@attrs.define
class CreateVideoRequest:
    """The metadata of an uploaded video."""

    visibility: Visibility
    title: str = constrained(min_length=1, max_length=200, text="line", strip=True,
                             example="My first video")
    video_s3_key: str = constrained(
        min_length=1, max_length=MAX_KEY_LENGTH, text="line",
        description="The `media_id` an upload URL returned; the object must be uploaded",
    )
    description: str = constrained("", max_length=5000, text="block")
    thumbnail_s3_key: str | None = constrained(
        None, max_length=MAX_KEY_LENGTH, text="line",
        description="The `media_id` of an uploaded thumbnail",
    )


class OutputKind(enum.StrEnum):
    """What a reported output is: an HLS master playlist, an MP4 file or a poster image."""

    HLS = "hls"
    MP4 = "mp4"
    POSTER = "poster"


# Outputs one COMPLETED report may list.
MAX_OUTPUTS = 32


@attrs.define
class OutputReport:
    """One output of the transcoder, stored under the video's processed prefix."""

    kind: OutputKind
    key: str = constrained(
        min_length=1, max_length=MAX_KEY_LENGTH, text="line",
        description="Its key in the processed bucket, under the video's processed prefix "
                    "(docs/playback.md)")
    width: int | None = constrained(None, minimum=1, maximum=65_535)
    height: int | None = constrained(None, minimum=1, maximum=65_535)
    bitrate: int | None = constrained(None, minimum=1, description="Bits per second")
    codecs: str | None = constrained(None, max_length=255, text="line",
                                     example="avc1.42c01e,mp4a.40.2")


# A progress stage: a short lower-case identifier ("transcoding", "packaging", ...).
STAGE_PATTERN = "[a-z][a-z0-9_]{0,31}"


@attrs.define
class StatusUpdate:
    """A processing status, or with `progress` and `stage` a progress report.

    See docs/video.md, the transcoder contract v2."""

    status: Status
    failure_reason: str | None = constrained(None, max_length=2000, text="block")
    duration_seconds: float | None = constrained(None, minimum=0)
    failure_code: FailureCode | None = attrs.field(default=None, metadata={
        "description": "With FAILED: why, as a machine reads it (beside failure_reason)"})
    progress: int | None = constrained(
        None, minimum=0, maximum=100,
        description="With IN_PROGRESS: percent done; within one stage of one lease it only "
                    "rises (a lower value is ignored)")
    stage: str | None = constrained(
        None, pattern=STAGE_PATTERN, max_length=32,
        description="The stage `progress` measures: transcoding, packaging, thumbnail, ...",
        example="transcoding")
    eta_seconds: int | None = constrained(
        None, minimum=0, description="Seconds the transcoder expects the rest to take")
    outputs: list[OutputReport] | None = attrs.field(default=None, metadata={
        "maxItems": MAX_OUTPUTS,
        "description": "With COMPLETED: the renditions made, at most one `hls` (the master "
                       "playlist) and one `poster`; every key under the video's processed "
                       "prefix"})

    def is_progress(self) -> bool:
        return self.progress is not None or self.stage is not None or self.eta_seconds is not None


@attrs.define
class LeaseOut:
    """A lease on a video's processing: send its token as the `Lease-Token` header.

    Every heartbeat and status report carries it until the lease ends."""

    lease_token: str = attrs.field(metadata={
        "description": "Secret: shown once, stored only hashed"})
    expires_at: dt.datetime
    attempt: int = attrs.field(metadata={
        "description": "Leases claimed since the video last entered IN_PROGRESS, this one "
                       "included"})


@attrs.define
class LeaseExtendedOut:
    """A lease a heartbeat extended."""

    expires_at: dt.datetime
    attempt: int


@attrs.define
class Uploader:
    """Who uploaded a video."""

    id: str = attrs.field(metadata={"description": "The owner's id (the video's `user_id`)"})
    name: str | None = attrs.field(metadata={
        "description": "The display name the uploader had when the video was created "
                       "(null for videos created before names were kept)"})


@attrs.define
class RenditionOut:
    """A playable output of a completed video."""

    kind: OutputKind
    url: str = attrs.field(metadata={
        "description": "Where to fetch it: presigned for a while, a CDN URL, or for `hls` the "
                       "API's manifest route (a path on this API)"})
    width: int | None
    height: int | None
    bitrate: int | None
    codecs: str | None


@attrs.define
class VideoOut:
    """A video. `playback_url` and `thumbnail_url` are set once it is completed."""

    id: uuid.UUID
    title: str
    description: str
    visibility: Visibility
    processing_status: Status
    user_id: str = attrs.field(metadata={"description": "The owner's id"})
    uploader: Uploader
    video_s3_key: str
    thumbnail_s3_key: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    duration_seconds: float | None
    failure_reason: str | None
    playback_url: str | None
    thumbnail_url: str | None
    failure_code: FailureCode | None = attrs.field(metadata={
        "description": "A FAILED video's failure code: unsupported_codec, corrupt_input, "
                       "timeout, checksum_mismatch, empty_upload, lease_expired or internal"})
    progress: int | None = attrs.field(metadata={
        "description": "While IN_PROGRESS: the transcoder's last reported percent"})
    stage: str | None = attrs.field(metadata={
        "description": "While IN_PROGRESS: the stage `progress` measures"})
    eta_seconds: int | None = attrs.field(metadata={
        "description": "While IN_PROGRESS: the seconds the transcoder expects the rest to take"})
    view_count: int = attrs.field(metadata={
        "description": "Views counted so far: once per viewer per window, shown after a delay "
                       "of up to the flush interval plus the cache TTL"})
    renditions: list[RenditionOut] = attrs.field(factory=list, metadata={
        "description": "Once completed: the outputs the transcoder reported, as URLs "
                       "(docs/playback.md); empty otherwise"})


@attrs.define
class ChecksumOut:
    """S3's additional checksum of an uploaded object."""

    algorithm: str = attrs.field(metadata={
        "description": "As S3 names it: SHA256, CRC32C, CRC32, SHA1 or CRC64NVME",
        "example": "SHA256"})
    value: str = attrs.field(metadata={
        "description": "Base64 of the digest; for an object uploaded in parts, S3's "
                       "composite checksum `<base64>-<number of parts>`"})


@attrs.define
class VideoIdOut:
    """The video stored at an S3 key, and the checksum S3 recorded for the upload (null when
    the upload declared none): fetch the object with checksum mode on to have it checked."""

    video_id: uuid.UUID
    checksum: ChecksumOut | None = None
