"""S3: presigned uploads, HeadObject and playback URLs.

boto3 is synchronous. HeadObject is a network round trip: it runs in anyio's worker
threads. URLs are presigned by plugins/video/presign.py in a few µs of CPU each, inline on the
event loop (a page of 20 videos signs in well under a millisecond). Playback and thumbnail
URLs are signed once per `media_url_window_seconds` and kept for the rest of the window,
so a page asked for again costs a dict lookup per URL; upload URLs are one-off, bound to
a fresh key and to headers, and are signed each time. A bucket whose URLs that presigner
cannot reproduce byte for byte at start-up is signed by botocore instead
(0.3-0.7 ms a URL), which runs in at most SIGNING_THREADS threads, as does any signing
while refreshable credentials are due for a refresh (a network call). A refresh that fails
is a 503, as any other AWS fault.
bench/bench_presign.py measures both presigners and the threading choices.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol, TypeVar

import anyio
import anyio.to_thread
import attrs
from botocore.exceptions import BotoCoreError, ClientError

from core.aws import CREDENTIAL_FAULTS
from core.errors import ServiceUnavailable
from plugins.video.config import VideoSettings
from plugins.video.keys import processed_prefix
from plugins.video.models import OutputKind, RenditionOut, VideoRecord
from plugins.video.playback.cdn import CdnCookie, CdnSigner, join_url, prefix_resource
from plugins.video.playback.outputs import stored_outputs
from plugins.video.playback.paths import manifest_path
from plugins.video.presign import (
    BucketEndpoint,
    Checksum,
    S3Presigner,
    botocore_presign,
    botocore_presign_part,
    bucket_endpoint,
    matches_botocore,
    window_start,
)
from plugins.video.states import Status, Visibility

T = TypeVar("T")
log = logging.getLogger("itube.video.storage")
MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
SIGNING_THREADS = 2
# Signed into every upload URL: S3 refuses a PUT to a key that already holds an object,
# so what metadata registered cannot be swapped afterwards through the same URL.
WRITE_ONCE = "*"


@attrs.frozen
class Buckets:
    raw: str
    thumbnails: str
    processed: str


# S3's additional checksums, strongest first: an object is recorded with the first it has.
CHECKSUM_ALGORITHMS = ("SHA256", "SHA1", "CRC64NVME", "CRC32C", "CRC32")


@attrs.frozen
class PartToSign:
    """One part of a multipart upload to presign: its number, length and checksum."""

    number: int
    size_bytes: int
    checksum: Checksum | None = None


@attrs.frozen
class StoredObject:
    size_bytes: int
    content_type: str
    # S3's additional checksum of the object, when it has one (see CHECKSUM_ALGORITHMS).
    checksum: Checksum | None = None


@attrs.frozen
class MediaUrls:
    playback_url: str | None
    thumbnail_url: str | None
    renditions: tuple[RenditionOut, ...] = ()
    # The renditions as a video answer writes them, made once with the URLs (which a
    # signing window keeps for every answer showing the video): read, never changed.
    rendition_fields: list[dict[str, Any]] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "rendition_fields", [
            {"kind": rendition.kind.value, "url": rendition.url, "width": rendition.width,
             "height": rendition.height, "bitrate": rendition.bitrate,
             "codecs": rendition.codecs}
            for rendition in self.renditions])


NO_URLS = MediaUrls(None, None)
# Videos whose URLs one signing window keeps; when full they are made again as asked.
URLS_KEPT_PER_WINDOW = 10_000


class UrlsByWindow:
    """The media URLs made for each video (by id and version: every change of a video bumps
    its version) in the current signing window. Within a window the signers make the same
    URLs, so a listing shown again reuses them rather than making each rendition's anew."""

    def __init__(self, most: int = URLS_KEPT_PER_WINDOW) -> None:
        self.most = most
        self.window: int | None = None
        # Keyed by the id's integer: a UUID hashes and compares in Python code.
        self.kept: dict[tuple[int, int], MediaUrls] = {}

    def get(self, window: int, record: VideoRecord) -> MediaUrls | None:
        if window != self.window:
            self.window, self.kept = window, {}
            return None
        return self.kept.get((record.id.int, record.version))

    def put(self, window: int, record: VideoRecord, urls: MediaUrls) -> None:
        if window != self.window:
            return
        if len(self.kept) >= self.most:
            self.kept = {}
        self.kept[(record.id.int, record.version)] = urls


class SignedMedia(Protocol):
    """What choosing how to sign a video's media reads of it: a `VideoRecord`, or the
    `PlayableVideo` its playlists are served for."""

    @property
    def visibility(self) -> Visibility: ...

    @property
    def video_s3_key(self) -> str: ...

    @property
    def thumbnail_s3_key(self) -> str | None: ...


@attrs.frozen
class CdnBase:
    """The CDN base URL serving a video's media, and the video when its URLs are signed;
    false when there is no CDN for it (its URLs are presigned)."""

    url: str
    signed_for: SignedMedia | None = None

    def __bool__(self) -> bool:
        return bool(self.url)


NO_CDN = CdnBase("")
# Stands among the buckets to sign for CloudFront policies not signed yet in this window.
CDN_SIGNING = "<cloudfront>"


class VideoStorage:
    """The app's S3 client (made once, SigV4) and the buckets it works with.

    `credentials` (botocore Credentials, as `ctx.aws.credentials()` returns them) turns
    on the fast presigner for every bucket it reproduces botocore's URLs for; without
    them every URL is signed by botocore.
    """

    def __init__(
        self, s3: Any, buckets: Buckets, settings: VideoSettings, credentials: Any = None,
        cdn: CdnSigner | None = None,
    ) -> None:
        self.s3 = s3
        self.buckets = buckets
        self.settings = settings
        # CloudFront signing (docs/cdn.md): with it, non-public videos get signed CDN URLs
        self.cdn = cdn
        self._signing = anyio.CapacityLimiter(SIGNING_THREADS)
        self.window_urls = UrlsByWindow()
        self.presigner = S3Presigner(credentials) if credentials is not None else None
        self.endpoints = self._checked_endpoints() if self.presigner else {}
        self._media_buckets = (self.buckets.processed, self.buckets.thumbnails)
        # What the media buckets' GET signers were made with (`S3Presigner.window_of`), and
        # the signers: looked up once a window, not once a video.
        self._window_signers: tuple[tuple[int, Any] | None, dict[str, Callable[[str], str]]] = (
            None, {})

    def _checked_endpoints(self) -> dict[str, BucketEndpoint]:
        """Buckets whose URLs our presigner reproduces byte for byte (checked once)."""
        assert self.presigner is not None
        endpoints = {}
        for bucket in {self.buckets.raw, self.buckets.thumbnails, self.buckets.processed}:
            try:
                endpoint = bucket_endpoint(self.s3, bucket)
                agrees = matches_botocore(self.s3, self.presigner, endpoint, bucket)
            except Exception as exc:  # any surprise here only costs speed
                log.warning("presigner check failed", extra={"bucket": bucket, "error": str(exc)})
                continue
            if agrees:
                endpoints[bucket] = endpoint
            else:
                log.warning("presigner disagrees with botocore", extra={"bucket": bucket})
        return endpoints

    def _signs_inline(self, buckets: Sequence[str]) -> bool:
        return (
            self.presigner is not None
            and all(bucket in self.endpoints for bucket in buckets)
            and not self.presigner.refresh_due()
        )

    async def presign_upload(
        self, bucket: str, key: str, content_type: str, size_bytes: int | None,
        checksum: Checksum | None = None,
    ) -> str:
        """A PUT URL signed over Content-Type, `If-None-Match: *` (the key is written once),
        and Content-Length and the checksum headers when declared."""
        sign = partial(
            self._presign,
            bucket,
            key,
            self.settings.upload_url_ttl_seconds,
            method="PUT",
            content_type=content_type,
            content_length=size_bytes,
            if_none_match=WRITE_ONCE,
            checksum=checksum,
        )
        if self._signs_inline([bucket]):
            return sign()
        return await anyio.to_thread.run_sync(sign, limiter=self._signing)

    async def presign_parts(
        self, bucket: str, key: str, upload_id: str, parts: Sequence[PartToSign],
        expires_in: int,
    ) -> list[str]:
        """UploadPart URLs of a multipart upload, each bound to its part's length and, when
        declared, its checksum: inline like upload URLs, or botocore in a thread."""
        endpoint = self.endpoints.get(bucket)

        def sign() -> list[str]:
            with _SigningFaults(bucket):
                if self.presigner is not None and endpoint is not None:
                    # one signer per length and checksum: a batch without checksums has two
                    signers: dict[tuple[int, Checksum | None], Callable[[int], str]] = {}
                    urls = []
                    for part in parts:
                        signer = signers.get((part.size_bytes, part.checksum))
                        if signer is None:
                            signer = signers[part.size_bytes, part.checksum] = \
                                self.presigner.part_signer(
                                    endpoint, key, expires_in, upload_id=upload_id,
                                    content_length=part.size_bytes, checksum=part.checksum,
                                ).url
                        urls.append(signer(part.number))
                    return urls
                return [botocore_presign_part(
                    self.s3, bucket, key, expires_in, upload_id=upload_id,
                    part_number=part.number, content_length=part.size_bytes,
                    checksum=part.checksum) for part in parts]

        if self._signs_inline([bucket]):
            return sign()
        return await anyio.to_thread.run_sync(sign, limiter=self._signing)

    def _presign(self, bucket: str, key: str, expires_in: int, **request: Any) -> str:
        return self._signer(bucket, expires_in, **request)(key)

    def _signer(self, bucket: str, expires_in: int, **request: Any) -> Callable[[str], str]:
        """Signs `request` for any key of `bucket`, at this instant."""
        endpoint = self.endpoints.get(bucket)
        with _SigningFaults(bucket):
            if self.presigner is not None and endpoint is not None:
                return self.presigner.signer(endpoint, expires_in, **request).url
        return lambda key: _botocore_url(self.s3, bucket, key, expires_in, request)

    async def head(self, bucket: str, key: str) -> StoredObject | None:
        """The object's size, type and checksum, or None when there is no such object."""
        try:
            found = await anyio.to_thread.run_sync(
                partial(self.s3.head_object, Bucket=bucket, Key=key, ChecksumMode="ENABLED")
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
            checksum=stored_checksum(found),
        )

    async def media_urls(self, records: Sequence[VideoRecord]) -> list[MediaUrls]:
        """Playback and thumbnail URLs of completed videos; at most one thread hop a batch."""
        if self._presigns_plainly(records):
            return self._presigned_urls(records)
        completed = [record for record in records
                     if record.processing_status is Status.COMPLETED]
        if not completed:
            return [NO_URLS for _ in records]
        if self.cdn is None and self._signs_inline(self._media_buckets):
            # Without a CDN only these buckets are ever signed for: no need to ask which.
            return self._kept_urls(records)
        signed = self._buckets_to_sign(completed)
        if not signed or self._signs_inline(signed):
            # Signed for the window (or unsigned): the window's URLs can be kept.
            return self._kept_urls(records)
        return await anyio.to_thread.run_sync(self._batch_urls, records, limiter=self._signing)

    def _presigns_plainly(self, records: Sequence[VideoRecord]) -> bool:
        """Whether each of the batch's URLs is a presigned GET our presigner makes here: no
        CDN, no renditions, as with the embedded default."""
        settings = self.settings
        return (self.cdn is None and not settings.playback_base_url
                and not settings.thumbnail_base_url
                and self._signs_inline(self._media_buckets)
                and not any(record.outputs for record in records))

    def _presigned_urls(self, records: Sequence[VideoRecord]) -> list[MediaUrls]:
        """The URLs `_made_urls` makes where `_presigns_plainly`, straight from the window's
        two GET signers, which keep each key's URL for the window: no store by video beside
        theirs, which cost each get of a video not asked for before. Without `_made_urls`'s
        steps (signers looked up by bucket, renditions and CDN bases asked for), an uncached
        get under load costs ~16 µs less CPU (bench/findings.md)."""
        signers = self._media_window_signers()
        playback, thumbnail = signers[self.buckets.processed], signers[self.buckets.thumbnails]
        return [self._urls(record, playback, thumbnail) for record in records]

    def _kept_urls(self, records: Sequence[VideoRecord]) -> list[MediaUrls]:
        """The batch's URLs, each video's made once a window, where whatever they need
        signed is signed here (our presigner, its credentials needing no refresh); a
        bucket's signer is looked up only when a video's URLs are made."""
        window, sign = self.signing_window(), self._bucket_signing()
        found = []
        for record in records:
            urls = self.window_urls.get(window, record)
            if urls is None:
                urls = self._made_urls(record, sign)
                self.window_urls.put(window, record, urls)
            found.append(urls)
        return found

    def _media_signer(self, bucket: str) -> Callable[[str], str]:
        """Signs playback and thumbnail GETs of `bucket`: once a window for each key where
        our presigner signs, at this instant where botocore does."""
        ttl = self.settings.playback_url_ttl_seconds
        endpoint = self.endpoints.get(bucket)
        if self.presigner is None or endpoint is None:
            return self._signer(bucket, ttl)
        with _SigningFaults(bucket):
            return self.presigner.window_signer(endpoint, ttl,
                                                self.settings.media_url_window_seconds)

    def _media_window_signers(self) -> dict[str, Callable[[str], str]]:
        """The current window's GET signers of the media buckets our presigner signs for,
        made again when the window or the credentials change."""
        assert self.presigner is not None
        with _SigningFaults(self.buckets.processed):
            made_with = self.presigner.window_of(self.settings.media_url_window_seconds)
        kept_with, signers = self._window_signers
        if made_with != kept_with:
            signers = {bucket: self._media_signer(bucket)
                       for bucket in self._media_buckets if bucket in self.endpoints}
            self._window_signers = (made_with, signers)
        return signers

    def _batch_urls(self, records: Sequence[VideoRecord]) -> list[MediaUrls]:
        sign = self._bucket_signing()
        return [self._made_urls(record, sign) for record in records]

    def _bucket_signing(self) -> Callable[[str, str], str]:
        """`sign(bucket, key)` with one signer per bucket, looked up on first use."""
        signers: dict[str, Callable[[str], str]] = {}

        def sign(bucket: str, key: str) -> str:
            signer = signers.get(bucket)
            if signer is None:
                signer = signers[bucket] = self._media_signer(bucket)
            return signer(key)

        return sign

    def _buckets_to_sign(self, completed: Sequence[VideoRecord]) -> list[str]:
        """The buckets whose URLs these videos need presigned (not served by a CDN), and
        CDN_SIGNING when a CloudFront policy is due: ~1 ms of RSA each, kept off the loop."""
        buckets = set()
        for record in completed:
            for base_url, bucket, key in (
                (self.settings.playback_base_url, self.buckets.processed, record.video_s3_key),
                (self.settings.thumbnail_base_url, self.buckets.thumbnails,
                 record.thumbnail_s3_key),
            ):
                if not key:
                    continue
                base = self._cdn_base(base_url, record)
                if not base:
                    buckets.add(bucket)
                elif base.signed_for is not None and self._cdn_policy_due(base, bucket):
                    buckets.add(CDN_SIGNING)
        return sorted(buckets)

    def _cdn_policy_due(self, base: CdnBase, bucket: str) -> bool:
        assert self.cdn is not None and base.signed_for is not None
        return not self.cdn.has_policy(prefix_resource(
            base.url, self.cdn_resource_key(base.signed_for, bucket)))

    def _cdn_base(self, base_url: str, record: SignedMedia) -> CdnBase:
        """The CDN base URL serving `record`'s media, false for presigned URLs. An unsigned
        CDN URL never expires, so without CDN signing only public videos get one; with it,
        every video does, signed unless public (and cdn_sign_public off)."""
        public = record.visibility is Visibility.PUBLIC
        if not base_url or (self.cdn is None and not public):
            return NO_CDN
        signed = self.cdn is not None and (not public or self.settings.cdn_sign_public)
        return CdnBase(base_url, record if signed else None)

    def _made_urls(self, record: VideoRecord, sign: Callable[[str, str], str]) -> MediaUrls:
        """`record`'s URLs on its CDN bases or presigned by `sign`, with its renditions."""
        def on(base_url: str, bucket: str) -> Callable[[str], str]:
            base = self._cdn_base(base_url, record)
            return lambda key: self._url(base, bucket, key, sign)

        urls = self._urls(record, on(self.settings.playback_base_url, self.buckets.processed),
                          on(self.settings.thumbnail_base_url, self.buckets.thumbnails))
        return self._with_renditions(record, urls, sign)

    def _urls(self, record: VideoRecord, playback: Callable[[str], str],
              thumbnail: Callable[[str], str]) -> MediaUrls:
        """A completed video's playback URL and, if it has one, its thumbnail's, each made
        from its key."""
        if record.processing_status is not Status.COMPLETED:
            return NO_URLS
        video_key = self.settings.playback_key_template.format(key=record.video_s3_key)
        return MediaUrls(playback_url=playback(video_key),
                         thumbnail_url=thumbnail(record.thumbnail_s3_key)
                         if record.thumbnail_s3_key else None)

    def _url(self, base_url: CdnBase, bucket: str, key: str,
             sign: Callable[[str, str], str]) -> str:
        """The one place a media URL is made but for `_presigned_urls`'s plain GETs:
        presigned by `sign` without a CDN; on the CDN, CloudFront-signed for the video's
        prefix (a thumbnail's is its key) when `base_url` names the video it signs for."""
        if not base_url:
            return sign(bucket, key)
        if base_url.signed_for is None or self.cdn is None:
            return join_url(base_url.url, key)
        return self.cdn.signed_url(base_url.url, key, self.cdn_resource_key(
            base_url.signed_for, bucket))

    def cdn_resource_key(self, record: SignedMedia, bucket: str) -> str:
        """The key prefix one CDN policy opens for `record`: its processed prefix (the
        manifest, renditions and every segment), or its thumbnail's key."""
        if bucket == self.buckets.processed:
            return processed_prefix(self.settings.playback_key_template, record.video_s3_key)
        return record.thumbnail_s3_key or ""

    def cdn_cookies(self, record: VideoRecord) -> list[CdnCookie]:
        """CloudFront signed cookies opening `record`'s processed media, or none when its
        media is not served signed by the CDN (not completed, public and unsigned, or no
        CDN signing)."""
        base = self._cdn_base(self.settings.playback_base_url, record)
        if (record.processing_status is not Status.COMPLETED or self.cdn is None
                or base.signed_for is None):
            return []
        return self.cdn.cookies(base.url, self.cdn_resource_key(record, self.buckets.processed))

    def _with_renditions(self, record: VideoRecord, urls: MediaUrls,
                         sign: Callable[[str, str], str]) -> MediaUrls:
        """`urls` with the reported outputs of a completed video: each one's URL made as the
        playback URL is; an `hls` output whose media is signed (presigned, or CloudFront-signed)
        is played through the API's manifest route, since a signed master playlist names
        unsigned segments, and becomes the playback URL; a poster is the thumbnail of a video
        without one of its own."""
        if urls is NO_URLS or not record.outputs:
            return urls
        base = self._cdn_base(self.settings.playback_base_url, record)
        playback, thumbnail, renditions = urls.playback_url, urls.thumbnail_url, []
        for output in stored_outputs(record.outputs):
            if output.kind is OutputKind.HLS and (not base or base.signed_for is not None):
                url = manifest_path(record.id)
            else:
                url = self._url(base, self.buckets.processed, output.key, sign)
            if output.kind is OutputKind.HLS:
                playback = url
            elif output.kind is OutputKind.POSTER and not record.thumbnail_s3_key:
                thumbnail = url
            renditions.append(RenditionOut(
                kind=output.kind, url=url, width=output.width, height=output.height,
                bitrate=output.bitrate, codecs=output.codecs))
        return MediaUrls(playback, thumbnail, tuple(renditions))

    async def read(self, bucket: str, key: str, max_bytes: int) -> bytes | None:
        """The object's bytes (at most `max_bytes`: a larger one is a 503 with a log line,
        never a partial read), or None when there is no such object. In a worker thread;
        faults are a 503 as for HeadObject."""
        try:
            body = await anyio.to_thread.run_sync(
                partial(_read_object, self.s3, bucket, key, max_bytes))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in MISSING_CODES:
                return None
            log.warning("GetObject failed", extra={"bucket": bucket, "error": str(exc)})
            raise ServiceUnavailable("Object storage did not answer; try again") from None
        except BotoCoreError as exc:
            log.warning("GetObject failed", extra={"bucket": bucket, "error": str(exc)})
            raise ServiceUnavailable("Object storage did not answer; try again") from None
        if body is None:
            log.warning("object too large to read", extra={"bucket": bucket, "key": key})
            raise ServiceUnavailable("The stored object is larger than this API reads")
        return body

    async def signing_with(self, record: SignedMedia,
                           use: Callable[[Callable[[str], str]], T]) -> T:
        """`use(sign)`, where `sign(key)` is the URL of one of `record`'s processed-bucket
        keys, made by `_url` as its playback URL is (CloudFront-signed for its prefix, on
        the CDN, or presigned): inline where that costs microseconds, else in a signing
        thread (botocore, or a CloudFront policy not signed yet in this window)."""
        base = self._cdn_base(self.settings.playback_base_url, record)
        processed = self.buckets.processed

        def run() -> T:
            presign = self._bucket_signing()
            return use(lambda key: self._url(base, processed, key, presign))

        if not base:
            due = [processed]
        elif base.signed_for is not None and self._cdn_policy_due(base, processed):
            due = [CDN_SIGNING]
        else:
            due = []
        if not due or self._signs_inline(due):
            return run()
        return await anyio.to_thread.run_sync(run, limiter=self._signing)

    def signing_window(self) -> int:
        """The Unix second the current window of playback URLs started at: within one
        window, a key is signed into the same URL (where our presigner signs)."""
        clock = self.presigner.clock if self.presigner is not None else _utc_now
        return window_start(clock(), self.settings.media_url_window_seconds)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _read_object(s3: Any, bucket: str, key: str, max_bytes: int) -> bytes | None:
    found = s3.get_object(Bucket=bucket, Key=key)
    if int(found.get("ContentLength", 0)) > max_bytes:
        found["Body"].close()
        return None
    with contextlib.closing(found["Body"]) as body:
        data: bytes = body.read(max_bytes + 1)
    return data if len(data) <= max_bytes else None


def stored_checksum(head: dict[str, Any]) -> Checksum | None:
    """The strongest additional checksum a HeadObject (or GetObject) answer carries."""
    for algorithm in CHECKSUM_ALGORITHMS:
        value = head.get(f"Checksum{algorithm}")
        if value:
            return Checksum(algorithm, str(value))
    return None


def _botocore_url(s3: Any, bucket: str, key: str, expires_in: int,
                  request: dict[str, Any]) -> str:
    with _SigningFaults(bucket):
        return botocore_presign(s3, bucket, key, expires_in, **request)


class _SigningFaults:
    """Signing's only I/O is refreshing credentials: its faults are a 503. A class rather
    than a generator's context manager: it is entered for every batch of media URLs."""

    __slots__ = ("bucket",)

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: Any) -> None:
        if exc is not None and isinstance(exc, CREDENTIAL_FAULTS):
            log.warning("AWS credentials unavailable", extra={
                "bucket": self.bucket, "error": type(exc).__name__, "reason": str(exc)})
            raise ServiceUnavailable("Object storage cannot sign URLs right now; try again") \
                from None
