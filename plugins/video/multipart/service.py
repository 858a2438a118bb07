"""Multipart uploads: start, resume, more part URLs, complete, abort. No web framework here.

The ledger row is the owner's handle on the upload: S3's UploadId never leaves the server,
and an upload that is not the caller's, was aborted or is past its expiry answers 404
(nothing says whether it exists). Completing checks what S3 holds against what was
declared (every part, the total size, the checksums) before S3 assembles the object, which
is written once (`If-None-Match: *`) like a single upload.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence

import attrs

from core.auth import Actor
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import wake
from plugins.video.keys import MediaKind, new_key
from plugins.video.multipart import checksums, queries
from plugins.video.multipart.models import (
    CompletedPart,
    CompletedUpload,
    CompleteRequest,
    CreateMultipartRequest,
    MultipartUpload,
    MultipartUploadStatus,
    ObjectChecksum,
    PartRequest,
    PartsRequest,
    PartUrl,
    PartUrls,
    UploadedPart,
    UploadRecord,
    UploadState,
)
from plugins.video.multipart.parts import (
    MAX_OBJECT_BYTES,
    part_bytes,
    part_count,
    part_size_for,
    part_size_problem,
)
from plugins.video.multipart.s3 import (
    KeyTaken,
    ListedPart,
    MultipartStore,
    PartsRefused,
    UploadGone,
)
from plugins.video.presign import Checksum
from plugins.video.service import VideoService
from plugins.video.storage import PartToSign

log = logging.getLogger("itube.video.multipart")
MISMATCH = ("the uploaded parts do not match the checksums declared for them; the upload is "
            "aborted: upload the file again")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _unquoted(etag: str) -> str:
    return etag.strip().strip('"')


class MultipartService:
    """One per app, beside the `VideoService` whose storage, settings and quotas it uses."""

    def __init__(self, videos: VideoService) -> None:
        self.videos = videos
        self.settings = videos.settings
        self.storage = videos.storage
        self.store = MultipartStore(videos.storage.s3, videos.storage.buckets.raw)

    @property
    def batch(self) -> int:
        return self.settings.multipart_url_batch

    # -- start ----------------------------------------------------------------------------

    async def create(self, actor: Actor, request: CreateMultipartRequest) -> MultipartUpload:
        """Start an upload of `size_bytes` under the actor's prefix, counted against the
        upload quotas like an upload URL; URLs for the first batch of parts unless each
        part's checksum must come first."""
        allowed = self.settings.upload_types(MediaKind.VIDEO)
        content_type = request.content_type.strip().lower()
        if content_type not in allowed:
            raise ValidationFailed.field("content_type", f"must be one of {', '.join(allowed)}")
        limit = min(self.settings.max_video_bytes, MAX_OBJECT_BYTES)
        if not 1 <= request.size_bytes <= limit:
            raise ValidationFailed.field("size_bytes", f"must be between 1 and {limit} bytes")
        part_size = self._chosen_part_size(request)
        await self.videos.quotas.check_upload_url(actor.id, MediaKind.VIDEO, request.size_bytes)
        key = new_key(MediaKind.VIDEO, actor.id)
        s3_upload_id = await self.store.create(key, content_type, request.checksum_algorithm)
        now = _now().replace(microsecond=0)
        record = UploadRecord(
            id=uuid.uuid4(), owner_id=actor.id, s3_key=key, s3_upload_id=s3_upload_id,
            content_type=content_type, size_bytes=request.size_bytes,
            part_size=part_size,
            checksum_algorithm=request.checksum_algorithm, state=UploadState.ACTIVE,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=self.settings.multipart_expiry_seconds),
        )
        try:
            await queries.insert(record)
        except Exception:
            # Not recorded, so never resumed: drop it now rather than leave it to clean-up.
            await self._abort_quietly(record)
            raise
        parts = await self._first_urls(record, missing=range(1, self._count(record) + 1))
        return self._view(record, parts)

    # -- resume -----------------------------------------------------------------------------

    async def status(self, actor: Actor, upload_id: uuid.UUID,
                     start: int | None = None) -> MultipartUploadStatus:
        """The parts S3 holds and URLs for the first batch of missing ones (from part
        `start` on, when given). A completed upload lists nothing: it is one object now."""
        record = await self._owned(actor, upload_id)
        count = self._count(record)
        if start is not None and start > count:
            raise ValidationFailed.field("from", f"must be between 1 and {count}")
        if record.state is UploadState.COMPLETED:
            return self._status_view(record, [], [])
        try:
            listed = await self.store.list_parts(record.s3_key, record.s3_upload_id,
                                                 record.checksum_algorithm)
        except UploadGone:
            done = await self._gone(record)
            return self._status_view(done, [], [])
        have = {part.number for part in listed}
        missing = [number for number in range(start or 1, count + 1) if number not in have]
        parts = await self._first_urls(record, missing=missing)
        uploaded = [UploadedPart(number=part.number, etag=part.etag,
                                 size_bytes=part.size_bytes, checksum=part.checksum)
                    for part in listed]
        return self._status_view(record, parts, uploaded)

    async def part_urls(self, actor: Actor, upload_id: uuid.UUID,
                        request: PartsRequest) -> PartUrls:
        """URLs for the parts asked for, each bound to its checksum when an algorithm was
        declared (then every part must carry one; otherwise none may)."""
        record = await self._owned(actor, upload_id)
        self._refuse_completed(record, "ask for part URLs")
        if not 1 <= len(request.parts) <= self.batch:
            raise ValidationFailed.field("parts", f"ask for 1 to {self.batch} parts at a time")
        self._check_numbers([part.number for part in request.parts], self._count(record))
        to_sign = [self._part_to_sign(record, index, part)
                   for index, part in enumerate(request.parts)]
        return PartUrls(parts=await self._urls(record, to_sign))

    # -- finish -----------------------------------------------------------------------------

    async def complete(self, actor: Actor, upload_id: uuid.UUID,
                       request: CompleteRequest) -> CompletedUpload:
        """Assemble the parts once they are all there and add up to the declared size; again
        for a completed upload, the same answer."""
        record = await self._owned(actor, upload_id)
        if record.state is UploadState.COMPLETED:
            return self._completed(record)
        try:
            listed = await self.store.list_parts(record.s3_key, record.s3_upload_id,
                                                 record.checksum_algorithm)
        except UploadGone:
            return self._completed(await self._gone(record))
        parts = self._parts_to_complete(record, listed, request.parts)
        try:
            await self.store.complete(record.s3_key, record.s3_upload_id, parts,
                                      record.checksum_algorithm)
        except UploadGone:
            return self._completed(await self._gone(record))
        except PartsRefused as refused:
            raise ValidationFailed.field("parts", f"S3 refused the parts: {refused}") from None
        except KeyTaken:
            await self._abort_quietly(record)
            raise Conflict("Another object was stored at this key; upload the file again") \
                from None
        checksum = await self._verified_checksum(record, parts)
        if not await queries.mark_completed(record.id, checksum, _now()):
            return self._completed(await self._gone(record))
        wake(self.videos.ctx)
        fresh = await queries.fetch(record.id)
        assert fresh is not None
        return self._completed(fresh)

    async def abort(self, actor: Actor, upload_id: uuid.UUID) -> None:
        """Abort the upload in S3 and in the ledger; an aborted one again is fine, a
        completed one is a 409 (its object is stored: delete the video instead)."""
        record = await self._owned(actor, upload_id, aborted_ok=True, expired_ok=True)
        if record.state is UploadState.ABORTED:
            return
        self._refuse_completed(record, "abort it")
        await self.store.abort(record.s3_key, record.s3_upload_id)
        if not await queries.mark_aborted(record.id):
            current = await queries.fetch(record.id)
            if current is not None and current.state is UploadState.COMPLETED:
                self._refuse_completed(current, "abort it")

    # -- steps ------------------------------------------------------------------------------

    @staticmethod
    def _chosen_part_size(request: CreateMultipartRequest) -> int:
        """The client's part size when it chose one within S3's limits, else ours."""
        if request.part_size is None:
            return part_size_for(request.size_bytes)
        problem = part_size_problem(request.size_bytes, request.part_size)
        if problem is not None:
            raise ValidationFailed.field("part_size", problem)
        return request.part_size

    async def _owned(self, actor: Actor, upload_id: uuid.UUID, *, aborted_ok: bool = False,
                     expired_ok: bool = False) -> UploadRecord:
        record = await queries.fetch(upload_id)
        if record is None or record.owner_id != actor.id:
            raise NotFound(f"No multipart upload {upload_id}")
        if record.state is UploadState.ABORTED and not aborted_ok:
            raise NotFound(f"No multipart upload {upload_id}")
        if (record.state is UploadState.ACTIVE and record.expires_at <= _now()
                and not expired_ok):
            raise NotFound(f"No multipart upload {upload_id}")
        return record

    @staticmethod
    def _refuse_completed(record: UploadRecord, what: str) -> None:
        if record.state is UploadState.COMPLETED:
            raise Conflict(f"This upload is completed; too late to {what}",
                           s3_key=record.s3_key)

    @staticmethod
    def _count(record: UploadRecord) -> int:
        return part_count(record.size_bytes, record.part_size)

    async def _gone(self, record: UploadRecord) -> UploadRecord:
        """S3 no longer has the upload. Completed: by another request, or by one that
        stopped before the ledger said so (the object of the declared size is at the key,
        which only this upload writes), and the ledger follows. Otherwise it was aborted
        or expired in S3: the ledger follows too, and it is a 404."""
        current = await queries.fetch(record.id)
        if current is not None and current.state is UploadState.COMPLETED:
            return current
        stored = await self.storage.head(self.storage.buckets.raw, record.s3_key)
        if stored is not None and stored.size_bytes == record.size_bytes:
            checksum = None
            if record.checksum_algorithm is not None and stored.checksum is not None:
                value = stored.checksum.value
                checksum = value if "-" in value else f"{value}-{self._count(record)}"
            if await queries.mark_completed(record.id, checksum, _now()):
                wake(self.videos.ctx)
            current = await queries.fetch(record.id)
            if current is not None and current.state is UploadState.COMPLETED:
                return current
        await queries.mark_aborted(record.id)
        raise NotFound(f"No multipart upload {record.id}")

    def _check_numbers(self, numbers: Sequence[int], count: int) -> None:
        seen: set[int] = set()
        for index, number in enumerate(numbers):
            if not 1 <= number <= count:
                raise ValidationFailed.field(f"parts[{index}].number",
                                             f"must be between 1 and {count}")
            if number in seen:
                raise ValidationFailed.field(f"parts[{index}].number",
                                             f"part {number} is listed twice")
            seen.add(number)

    def _part_to_sign(self, record: UploadRecord, index: int, part: PartRequest) -> PartToSign:
        algorithm = record.checksum_algorithm
        size = part_bytes(part.number, record.size_bytes, record.part_size)
        field = f"parts[{index}].checksum"
        if algorithm is None:
            if part.checksum is not None:
                raise ValidationFailed.field(field, "no checksum algorithm was declared for "
                                                    "this upload: leave it out")
            return PartToSign(part.number, size)
        if part.checksum is None:
            raise ValidationFailed.field(field, f"required: this upload declared {algorithm}")
        if not checksums.is_digest(algorithm, part.checksum):
            raise ValidationFailed.field(field, f"must be the base64 of a {algorithm} digest")
        return PartToSign(part.number, size, Checksum(algorithm.value, part.checksum))

    async def _first_urls(self, record: UploadRecord, missing: Sequence[int]) -> list[PartUrl]:
        """URLs of the first batch of `missing` parts; none when each needs its checksum."""
        if record.checksum_algorithm is not None:
            return []
        to_sign = [PartToSign(number, part_bytes(number, record.size_bytes, record.part_size))
                   for number in missing[: self.batch]]
        return await self._urls(record, to_sign)

    async def _urls(self, record: UploadRecord, parts: Sequence[PartToSign]) -> list[PartUrl]:
        # Valid no longer than the upload itself, and at least a second.
        left = int((record.expires_at - _now()).total_seconds())
        ttl = max(1, min(self.settings.upload_url_ttl_seconds, left))
        urls = await self.storage.presign_parts(self.storage.buckets.raw, record.s3_key,
                                                record.s3_upload_id, parts, ttl)
        return [PartUrl(number=part.number, url=url, method="PUT",
                        headers=self._headers(part))
                for part, url in zip(parts, urls, strict=True)]

    @staticmethod
    def _headers(part: PartToSign) -> dict[str, str]:
        headers = {"Content-Length": str(part.size_bytes)}
        if part.checksum is not None:
            headers.update(part.checksum.headers())
        return headers

    def _view(self, record: UploadRecord, parts: list[PartUrl]) -> MultipartUpload:
        return MultipartUpload(
            upload_id=record.id, media_id=uuid.UUID(record.s3_key.rsplit("/", 1)[1]),
            s3_key=record.s3_key, part_size=record.part_size, part_count=self._count(record),
            checksum_algorithm=record.checksum_algorithm, parts=parts,
            expires_at=record.expires_at,
        )

    def _status_view(self, record: UploadRecord, parts: list[PartUrl],
                     uploaded: list[UploadedPart]) -> MultipartUploadStatus:
        return MultipartUploadStatus(**attrs.asdict(self._view(record, parts), recurse=False),
                                     state=record.state, uploaded=uploaded)

    def _parts_to_complete(self, record: UploadRecord, listed: Sequence[ListedPart],
                           claimed: Sequence[CompletedPart] | None) -> list[ListedPart]:
        """Parts 1..part_count as S3 lists them, checked against the client's list when
        given; every part there, the sizes adding up to the declared size."""
        count = self._count(record)
        by_number = {part.number: part for part in listed if part.number <= count}
        if claimed is not None:
            by_number = self._claimed_parts(record, by_number, claimed, count)
        missing = [number for number in range(1, count + 1) if number not in by_number]
        if missing:
            shown = ", ".join(str(number) for number in missing[:20])
            more = ", …" if len(missing) > 20 else ""
            raise ValidationFailed.field("parts", f"not uploaded yet: part {shown}{more} "
                                                  f"of {count}")
        parts = [by_number[number] for number in range(1, count + 1)]
        if record.checksum_algorithm is not None and any(part.checksum is None
                                                         for part in parts):
            # S3 lists each part's checksum; a store that does not needs the client's list.
            raise ValidationFailed.field("parts", "list every part with its checksum: the "
                                                  "store does not list them")
        total = sum(part.size_bytes for part in parts)
        if total != record.size_bytes:
            raise ValidationFailed.field(
                "size_bytes", f"the parts hold {total} bytes, the upload declared "
                              f"{record.size_bytes}: upload the wrong parts again")
        return parts

    def _claimed_parts(self, record: UploadRecord, listed: dict[int, ListedPart],
                       claimed: Sequence[CompletedPart], count: int) -> dict[int, ListedPart]:
        """The client's list must name every part, with the ETag S3 answered its PUT with
        when it has it; its checksums stand in for those a store does not list."""
        self._check_numbers([part.number for part in claimed], count)
        if len(claimed) != count:
            raise ValidationFailed.field("parts", f"list all {count} parts")
        chosen = {}
        for index, part in enumerate(claimed):
            held = listed.get(part.number)
            if held is None:
                raise ValidationFailed.field(f"parts[{index}].number",
                                             f"part {part.number} is not uploaded yet")
            if part.etag is not None and _unquoted(held.etag) != _unquoted(part.etag):
                raise ValidationFailed.field(f"parts[{index}].etag",
                                             f"S3 holds part {part.number} with another ETag")
            checksum = held.checksum
            if part.checksum is not None:
                if record.checksum_algorithm is None:
                    raise ValidationFailed.field(f"parts[{index}].checksum",
                                                 "no checksum algorithm was declared")
                if checksum is not None and checksum != part.checksum:
                    raise ValidationFailed.field(f"parts[{index}].checksum",
                                                 "S3 holds this part with another checksum")
                checksum = part.checksum
            chosen[part.number] = ListedPart(part.number, held.etag, held.size_bytes, checksum)
        return chosen

    async def _verified_checksum(self, record: UploadRecord,
                                 parts: Sequence[ListedPart]) -> str | None:
        """The object's composite checksum, from the parts' declared digests, once the
        stored object is known to carry the same (S3 checked each part on upload; this
        catches a store that did not). A mismatch aborts: the object goes."""
        algorithm = record.checksum_algorithm
        if algorithm is None:
            return None
        digests = [part.checksum for part in parts if part.checksum is not None]
        expected = checksums.composite(algorithm, digests)
        stored = await self.storage.head(self.storage.buckets.raw, record.s3_key)
        found = stored.checksum if stored is not None else None
        if found is None or found.algorithm != algorithm.value \
                or not checksums.same_checksum(found.value, expected):
            await self._discard(record)
            raise ValidationFailed.field("parts", MISMATCH)
        return expected

    async def _discard(self, record: UploadRecord) -> None:
        """Remove an assembled object that cannot be trusted and close the upload."""
        await self.store.delete_object(record.s3_key)
        await queries.mark_aborted(record.id)

    async def _abort_quietly(self, record: UploadRecord) -> None:
        try:
            await self.store.abort(record.s3_key, record.s3_upload_id)
        except Exception:
            log.warning("could not abort an unrecorded multipart upload",
                        extra={"s3_key": record.s3_key})

    @staticmethod
    def _completed(record: UploadRecord) -> CompletedUpload:
        checksum = None
        if record.checksum_algorithm is not None and record.checksum is not None:
            checksum = ObjectChecksum(algorithm=record.checksum_algorithm, value=record.checksum)
        return CompletedUpload(upload_id=record.id, s3_key=record.s3_key,
                               size_bytes=record.size_bytes, content_type=record.content_type,
                               checksum=checksum, state=UploadState.COMPLETED)

