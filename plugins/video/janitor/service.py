"""The janitor's sweep: lists what S3 holds, asks the database about it a page (up to 1,000
keys) at a time, and removes what no video claims.

A sweep keeps nothing between runs: an object deleted, a tombstone written or an upload
aborted by a sweep that then stopped is simply not found again, or found and finished by
the next one. Several sweeps at once (one per worker) are harmless: refusing a key twice
writes one tombstone, deleting a missing object and aborting a missing upload succeed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
import attrs
from botocore.exceptions import ClientError

from plugins.video.janitor import queries
from plugins.video.storage import Buckets

log = logging.getLogger("itube.video.janitor")
VIDEO_PREFIX = "videos/"
THUMBNAIL_PREFIX = "thumbnails/"
GONE_UPLOAD = "NoSuchUpload"


class RemovalFailed(Exception):
    """S3 refused to delete some objects; the message names the first."""


@attrs.define
class SweepReport:
    """What one sweep removed."""

    videos: int = 0
    thumbnails: int = 0
    multipart_uploads: int = 0

    def counts(self) -> dict[str, int]:
        return attrs.asdict(self)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Janitor:
    """Sweeps the raw and thumbnails buckets through `s3` (a boto3 client)."""

    def __init__(self, s3: Any, buckets: Buckets, orphan_seconds: float) -> None:
        self.s3 = s3
        self.buckets = buckets
        self.orphan_age = dt.timedelta(seconds=orphan_seconds)

    async def sweep(self, cutoff: dt.datetime | None = None) -> SweepReport:
        """Remove what was uploaded before `cutoff` (default: `orphan_upload_seconds` ago)
        and belongs to no video; one log line with the counts."""
        now = _now()
        cutoff = cutoff or now - self.orphan_age
        report = SweepReport(
            videos=await self._sweep_videos(cutoff, now),
            thumbnails=await self._sweep_thumbnails(cutoff),
            multipart_uploads=await self._sweep_multipart(cutoff),
        )
        log.info("janitor sweep", extra={**report.counts(), "cutoff": cutoff.isoformat()})
        return report

    async def _sweep_videos(self, cutoff: dt.datetime, now: dt.datetime) -> int:
        removed = 0
        bucket = self.buckets.raw
        async for keys in self._old_keys(bucket, VIDEO_PREFIX, cutoff):
            candidates = await self._unclaimed(keys, queries.referenced_video_keys, cutoff)
            # refused for good before the objects go: no registration can take them now
            orphans = await queries.refuse_orphan_keys(bucket, candidates, now)
            await self._delete(bucket, orphans)
            await queries.mark_removed(orphans, _now())
            removed += len(orphans)
        return removed

    async def _sweep_thumbnails(self, cutoff: dt.datetime) -> int:
        removed = 0
        bucket = self.buckets.thumbnails
        async for keys in self._old_keys(bucket, THUMBNAIL_PREFIX, cutoff):
            orphans = await self._unclaimed(keys, queries.referenced_thumbnail_keys, cutoff)
            await self._delete(bucket, orphans)
            removed += len(orphans)
        return removed

    @staticmethod
    async def _unclaimed(keys: list[str], referenced: Any, cutoff: dt.datetime) -> list[str]:
        """The keys no video refers to and no recent resumable upload made (one query each
        for the page)."""
        held = await referenced(keys)
        unreferenced = [key for key in keys if key not in held]
        recent = await queries.recently_uploaded_keys(unreferenced, cutoff)
        return [key for key in unreferenced if key not in recent]

    async def _sweep_multipart(self, cutoff: dt.datetime) -> int:
        aborted = 0
        bucket = self.buckets.raw
        async for page in self._pages("list_multipart_uploads", Bucket=bucket,
                                      Prefix=VIDEO_PREFIX):
            stale = [(upload["Key"], upload["UploadId"]) for upload in page.get("Uploads", [])
                     if upload["Initiated"] < cutoff]
            recent = await queries.recent_upload_ids([upload_id for _, upload_id in stale],
                                                     cutoff)
            for key, upload_id in stale:
                if upload_id not in recent:
                    await anyio.to_thread.run_sync(partial(self._abort, bucket, key, upload_id))
                    aborted += 1
        return aborted

    def _abort(self, bucket: str, key: str, upload_id: str) -> None:
        try:
            self.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != GONE_UPLOAD:
                raise

    async def _old_keys(self, bucket: str, prefix: str, cutoff: dt.datetime
                        ) -> AsyncIterator[list[str]]:
        """Each listing page's keys last modified before `cutoff`."""
        async for page in self._pages("list_objects_v2", Bucket=bucket, Prefix=prefix):
            keys = [item["Key"] for item in page.get("Contents", [])
                    if item["LastModified"] < cutoff]
            if keys:
                yield keys

    async def _pages(self, operation: str, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """A paginated listing, one page (one S3 call) at a time in a worker thread."""
        pages = iter(self.s3.get_paginator(operation).paginate(**params))
        while (page := await anyio.to_thread.run_sync(next, pages, None)) is not None:
            yield page

    async def _delete(self, bucket: str, keys: Sequence[str]) -> None:
        if keys:
            await anyio.to_thread.run_sync(partial(self._delete_objects, bucket, keys))

    def _delete_objects(self, bucket: str, keys: Sequence[str]) -> None:
        answer = self.s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": key} for key in keys], "Quiet": True})
        errors = answer.get("Errors", [])
        if errors:
            first = errors[0]
            raise RemovalFailed(f"{bucket}/{first.get('Key')}: {first.get('Code')}")

    async def run_forever(self, interval_seconds: float, stop: anyio.Event) -> None:
        """Sweep every `interval_seconds` until `stop` is set (the first sweep one interval
        after start-up). A fault is logged and the next sweep tries again."""
        while True:
            with anyio.move_on_after(interval_seconds):
                await stop.wait()
            if stop.is_set():
                return
            try:
                await self.sweep()
            except Exception as exc:  # S3 or the database did not answer: next time
                log.warning("janitor sweep failed; will retry", extra={
                    "error": type(exc).__name__, "reason": str(exc)})

