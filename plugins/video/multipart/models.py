"""What the multipart routes take and return, and the ledger's record of an upload."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence

import attrs

from core.schema import constrained
from plugins.video.multipart.parts import (
    MAX_OBJECT_BYTES,
    MAX_PART_BYTES,
    MAX_PARTS,
    MIB,
    MIN_PART_BYTES,
)


class ChecksumAlgorithm(enum.StrEnum):
    """S3's additional checksums a client may declare for its parts."""

    SHA256 = "SHA256"
    CRC32C = "CRC32C"


class UploadState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    ABORTED = "ABORTED"


@attrs.frozen
class UploadRecord:
    """A row of the ledger (`video_multipart_uploads`)."""

    id: uuid.UUID
    owner_id: str
    s3_key: str
    s3_upload_id: str
    content_type: str
    size_bytes: int
    part_size: int
    checksum_algorithm: ChecksumAlgorithm | None
    state: UploadState
    created_at: dt.datetime
    expires_at: dt.datetime
    completed_at: dt.datetime | None = None
    # The completed object's checksum as S3 writes a composite one: "<base64>-<parts>".
    checksum: str | None = None


@attrs.define
class CreateMultipartRequest:
    """The file about to be uploaded in parts."""

    content_type: str = constrained(max_length=255, text="line", example="video/mp4")
    size_bytes: int = constrained(minimum=1, maximum=MAX_OBJECT_BYTES,
                                  description="The file's exact size in bytes")
    checksum_algorithm: ChecksumAlgorithm | None = attrs.field(default=None, metadata={
        "description": "Declare one to have each part's checksum signed into its URL: S3 "
                       "then refuses a part whose body does not match"})
    # Checked by the service, which names the range for the declared size.
    part_size: int | None = attrs.field(default=None, metadata={
        "minimum": MIN_PART_BYTES, "maximum": MAX_PART_BYTES, "multipleOf": MIB,
        "example": 16 * MIB,
        "description": "Bytes per part, when you choose: a whole number of MiB from 5 MiB "
                       "to 5 GiB that cuts the file into at most 10,000 parts (small parts "
                       "suit a bad network, big ones a fast one). Absent: 8 MiB, doubled "
                       "until the file fits in 10,000 parts"})


def create_request_class(content_types: Sequence[str],
                         max_bytes: int) -> type[CreateMultipartRequest]:
    """The create body publishing the configured types and the largest size accepted."""
    content_type = attrs.field(metadata={
        "description": "MIME type of the file", "enum": list(content_types),
        "example": content_types[0]})
    size_bytes = constrained(minimum=1, maximum=min(max_bytes, MAX_OBJECT_BYTES),
                             description="The file's exact size in bytes")
    return attrs.make_class("CreateMultipartUploadRequest",
                            {"content_type": content_type, "size_bytes": size_bytes},
                            bases=(CreateMultipartRequest,), slots=True, kw_only=True)


@attrs.define
class PartUrl:
    """A presigned UploadPart: send the part's bytes to `url` with `method` and every header
    listed (its `Content-Length` and, with a declared algorithm, its checksum)."""

    number: int
    url: str
    method: str
    headers: dict[str, str]


@attrs.define
class UploadedPart:
    """A part S3 holds."""

    number: int
    etag: str
    size_bytes: int
    checksum: str | None = None


@attrs.define
class MultipartUpload:
    """A multipart upload: PUT each part to its URL, then complete it."""

    upload_id: uuid.UUID
    media_id: uuid.UUID = attrs.field(metadata={"description": "The uuid ending the S3 key"})
    s3_key: str = attrs.field(metadata={
        "description": "Where the file is stored once completed: register it with "
                       "POST /api/v1/upload/videos/metadata"})
    part_size: int = attrs.field(metadata={
        "description": "Every part is this size, except the last (what is left)"})
    part_count: int
    checksum_algorithm: ChecksumAlgorithm | None
    parts: list[PartUrl] = attrs.field(metadata={
        "description": "URLs of the first batch of parts still to send; empty when a "
                       "checksum algorithm was declared (ask for them with each part's "
                       "checksum)"})
    expires_at: dt.datetime = attrs.field(metadata={
        "description": "When the upload is abandoned if not completed"})


@attrs.define
class MultipartUploadStatus(MultipartUpload):
    """A multipart upload as it stands: the parts S3 holds, and URLs for the missing ones."""

    state: UploadState = UploadState.ACTIVE
    uploaded: list[UploadedPart] = attrs.Factory(list)


@attrs.define
class PartRequest:
    number: int = constrained(minimum=1, maximum=MAX_PARTS)
    checksum: str | None = constrained(None, max_length=64, description=(
        "Base64 of the part's digest, with the declared algorithm (required then, "
        "absent otherwise)"))


@attrs.define
class PartsRequest:
    """The parts to have URLs for."""

    parts: list[PartRequest] = attrs.field(metadata={"minItems": 1})


@attrs.define
class PartUrls:
    parts: list[PartUrl]


@attrs.define
class CompletedPart:
    number: int = constrained(minimum=1, maximum=MAX_PARTS)
    etag: str | None = constrained(None, min_length=1, max_length=128, text="line",
                                   description="The ETag S3 answered the part's PUT with; "
                                               "when absent, the one S3 lists")
    checksum: str | None = constrained(None, max_length=64, description=(
        "The part's checksum, with the declared algorithm (needed where the store lists "
        "none, as the emulator)"))


@attrs.define
class CompleteRequest:
    """The parts to assemble (optional: without them, every part S3 lists)."""

    parts: list[CompletedPart] | None = attrs.field(default=None, metadata={
        "maxItems": MAX_PARTS,
        "description": "Each part's number, with the ETag S3 answered its PUT with and its "
                       "checksum where known; when absent, the parts S3 lists are used"})


@attrs.define
class ObjectChecksum:
    """The completed object's checksum."""

    algorithm: ChecksumAlgorithm
    value: str = attrs.field(metadata={
        "description": "S3's composite form: base64 of the digest of the parts' digests, "
                       "then `-<number of parts>`"})


@attrs.define
class CompletedUpload:
    """A completed upload: register `s3_key` with POST /api/v1/upload/videos/metadata."""

    upload_id: uuid.UUID
    s3_key: str
    size_bytes: int
    content_type: str
    checksum: ObjectChecksum | None
    state: UploadState
