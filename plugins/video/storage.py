"""S3: presigned uploads, HeadObject and playback URLs.

boto3 is synchronous. HeadObject is a network round trip: it runs in anyio's worker
threads. Presigning is 0.3-0.7 ms of pure CPU under the GIL: inline, N concurrent
presigns delay every other request on the event loop by N times that; in many threads
they fight the loop for the GIL. So signing runs in at most SIGNING_THREADS threads
(bench/bench_presign.py measures the three choices; docs/video.md has the figures).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any
from urllib.parse import quote

import anyio
import anyio.to_thread
import attrs
from botocore.exceptions import BotoCoreError, ClientError

from core.errors import ServiceUnavailable
from plugins.video.config import VideoSettings
from plugins.video.models import VideoRecord
from plugins.video.states import Status

log = logging.getLogger("itube.video.storage")
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
SIGNING_THREADS = 2


@attrs.frozen
class Buckets:
    raw: str
    thumbnails: str
    processed: str


@attrs.frozen
class StoredObject:
    size_bytes: int
    content_type: str


@attrs.frozen
class MediaUrls:
    playback_url: str | None
    thumbnail_url: str | None


NO_URLS = MediaUrls(None, None)


class VideoStorage:
    """The app's S3 client (made once, SigV4) and the buckets it works with."""

    def __init__(self, s3: Any, buckets: Buckets, settings: VideoSettings) -> None:
        self.s3 = s3
        self.buckets = buckets
        self.settings = settings
        self._signing = anyio.CapacityLimiter(SIGNING_THREADS)

    async def presign_upload(
        self, bucket: str, key: str, content_type: str, size_bytes: int | None
    ) -> str:
        """A PUT URL signed over Content-Type (and Content-Length when declared)."""
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ContentType": content_type}
        if size_bytes is not None:
            params["ContentLength"] = size_bytes
        sign = partial(
            self.s3.generate_presigned_url,
            "put_object",
            Params=params,
            ExpiresIn=self.settings.upload_url_ttl_seconds,
            HttpMethod="PUT",
        )
        return await anyio.to_thread.run_sync(sign, limiter=self._signing)

    async def head(self, bucket: str, key: str) -> StoredObject | None:
        """The object's size and type, or None when there is no such object."""
        try:
            found = await anyio.to_thread.run_sync(
                partial(self.s3.head_object, Bucket=bucket, Key=key)
            )
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING_CODES:
                return None
            log.warning("HeadObject failed", extra={"bucket": bucket, "error": str(exc)})
            raise ServiceUnavailable("Object storage did not answer; try again") from None
        except BotoCoreError as exc:
            log.warning("HeadObject failed", extra={"bucket": bucket, "error": str(exc)})
            raise ServiceUnavailable("Object storage did not answer; try again") from None
        return StoredObject(
            size_bytes=int(found.get("ContentLength", 0)),
            content_type=str(found.get("ContentType") or ""),
        )

    async def media_urls(self, records: Sequence[VideoRecord]) -> list[MediaUrls]:
        """Playback and thumbnail URLs of completed videos; one thread hop per batch."""
        if not any(record.processing_status is Status.COMPLETED for record in records):
            return [NO_URLS for _ in records]
        if self.settings.playback_base_url and self.settings.thumbnail_base_url:
            return [self._urls(record) for record in records]  # no signing: cheap
        return await anyio.to_thread.run_sync(
            lambda: [self._urls(record) for record in records], limiter=self._signing
        )

    def _urls(self, record: VideoRecord) -> MediaUrls:
        if record.processing_status is not Status.COMPLETED:
            return NO_URLS
        playback_key = self.settings.playback_key_template.format(key=record.video_s3_key)
        playback = self._url(
            self.settings.playback_base_url, self.buckets.processed, playback_key
        )
        thumbnail = None
        if record.thumbnail_s3_key:
            thumbnail = self._url(
                self.settings.thumbnail_base_url, self.buckets.thumbnails, record.thumbnail_s3_key
            )
        return MediaUrls(playback_url=playback, thumbnail_url=thumbnail)

    def _url(self, base_url: str, bucket: str, key: str) -> str:
        if base_url:
            return f"{base_url.rstrip('/')}/{quote(key)}"
        return self.s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key},
            ExpiresIn=self.settings.playback_url_ttl_seconds,
        )
