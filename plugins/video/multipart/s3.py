"""S3's multipart API for the ledger's uploads: each call a round trip.

CreateMultipartUpload, made for every upload started, is signed and sent on the event loop
(plugins/video/s3_requests.py) once botocore is seen to make the same request for the
bucket; the rarer calls (ListParts, Complete, Abort), and Create where our signer does not
apply, go through boto3 in a worker thread. A fault (S3 down, refused credentials, a
timeout) is a 503; the answers the service decides on (an upload S3 no longer has, a
completion S3 refuses) are their own errors.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

import anyio.to_thread
import attrs
from botocore.exceptions import BotoCoreError, ClientError

from core.aws import CREDENTIAL_FAULTS
from core.config import AwsSection
from core.errors import ServiceUnavailable
from plugins.video.multipart.models import ChecksumAlgorithm
from plugins.video.presign import BucketEndpoint, S3Presigner
from plugins.video.s3_requests import (
    S3Requests,
    create_matches_botocore,
    request_endpoint,
    sendable_key,
)
from plugins.video.storage import WRITE_ONCE

log = logging.getLogger("itube.video.multipart")
T = TypeVar("T")
NO_SUCH_UPLOAD = "NoSuchUpload"
# What S3 answers a completion whose parts do not add up (sizes, ETags, checksums, order).
REFUSED_PARTS = frozenset({"InvalidPart", "InvalidPartOrder", "EntityTooSmall", "BadDigest",
                           "InvalidRequest", "InvalidArgument"})
# The key already holds an object (completion writes it once, as upload URLs do).
KEY_TAKEN = frozenset({"PreconditionFailed", "412"})


class UploadGone(Exception):
    """S3 has no such multipart upload (completed, aborted or expired)."""


class PartsRefused(Exception):
    """S3 refused to assemble the parts; the message is S3's."""


class KeyTaken(Exception):
    """Another object was written at the key first."""


@attrs.frozen
class ListedPart:
    number: int
    etag: str
    size_bytes: int
    checksum: str | None = None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class MultipartStore:
    """The multipart calls on one bucket through the app's S3 client, or signed by
    `presigner` and sent within the `aws` bounds where botocore agrees with our requests."""

    def __init__(self, s3: Any, bucket: str, presigner: S3Presigner | None = None,
                 aws: AwsSection | None = None) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.presigner = presigner
        self.aws = aws
        self._direct: S3Requests | None = None
        self._direct_checked = presigner is None or aws is None

    async def aclose(self) -> None:
        if self._direct is not None:
            await self._direct.aclose()

    async def _requests(self) -> S3Requests | None:
        """The event-loop sender, once botocore's requests for the bucket are seen to equal
        ours (checked on first use, in a thread: botocore builds a few requests)."""
        if not self._direct_checked:
            self._direct_checked = True
            endpoint = await anyio.to_thread.run_sync(self._checked_endpoint)
            if endpoint is not None:
                assert self.presigner is not None and self.aws is not None
                self._direct = S3Requests(self.presigner, endpoint, self.aws)
        return self._direct

    def _checked_endpoint(self) -> BucketEndpoint | None:
        assert self.presigner is not None
        try:
            endpoint = request_endpoint(self.s3, self.bucket)
            if create_matches_botocore(self.s3, self.presigner, endpoint, self.bucket):
                return endpoint
            log.warning("S3 request signer disagrees with botocore",
                        extra={"bucket": self.bucket})
        except Exception as exc:  # any surprise here only costs speed
            log.warning("S3 request signer check failed",
                        extra={"bucket": self.bucket, "error": str(exc)})
        return None

    async def _direct_for(self, key: str) -> S3Requests | None:
        """The event-loop sender when it can make this request: credentials at hand (a
        refresh is network I/O, left to botocore in a thread) and a key httpx writes as is."""
        direct = await self._requests()
        if direct is None or not sendable_key(key) or direct.presigner.refresh_due():
            return None
        return direct

    async def _call(self, action: str, call: Callable[[], T]) -> T:
        try:
            return await anyio.to_thread.run_sync(call)
        except ClientError as exc:
            code = _code(exc)
            if code == NO_SUCH_UPLOAD:
                raise UploadGone() from None
            if code in REFUSED_PARTS:
                raise PartsRefused(str(exc.response.get("Error", {}).get("Message", code))) \
                    from None
            if code in KEY_TAKEN:
                raise KeyTaken() from None
            log.warning("S3 multipart call failed", extra={"action": action, "error": str(exc)})
        except (BotoCoreError, *CREDENTIAL_FAULTS) as exc:
            log.warning("S3 multipart call failed", extra={"action": action, "error": str(exc)})
        raise ServiceUnavailable("Object storage did not answer; try again")

    async def create(self, key: str, content_type: str,
                     algorithm: ChecksumAlgorithm | None) -> str:
        """Start a multipart upload at `key`; S3's UploadId."""
        direct = await self._direct_for(key)
        if direct is not None:
            try:
                return await direct.create_multipart_upload(
                    key, content_type, algorithm.value if algorithm is not None else None)
            except CREDENTIAL_FAULTS as exc:
                log.warning("S3 multipart call failed", extra={
                    "action": "CreateMultipartUpload", "error": type(exc).__name__})
                raise ServiceUnavailable("Object storage did not answer; try again") from None
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "ContentType": content_type}
        if algorithm is not None:
            params["ChecksumAlgorithm"] = algorithm.value
        answer = await self._call("CreateMultipartUpload",
                                  partial(self.s3.create_multipart_upload, **params))
        return str(answer["UploadId"])

    async def list_parts(self, key: str, upload_id: str,
                         algorithm: ChecksumAlgorithm | None) -> list[ListedPart]:
        """Every part S3 holds, through all pages, by number."""

        def list_all() -> list[ListedPart]:
            pages = self.s3.get_paginator("list_parts").paginate(
                Bucket=self.bucket, Key=key, UploadId=upload_id)
            checksum_member = f"Checksum{algorithm.value}" if algorithm else None
            return [ListedPart(number=int(part["PartNumber"]), etag=str(part["ETag"]),
                               size_bytes=int(part["Size"]),
                               checksum=part.get(checksum_member) if checksum_member else None)
                    for page in pages for part in page.get("Parts", [])]

        return sorted(await self._call("ListParts", list_all), key=lambda part: part.number)

    async def complete(self, key: str, upload_id: str, parts: Sequence[ListedPart],
                       algorithm: ChecksumAlgorithm | None) -> None:
        """Assemble the parts into the object, written once (`If-None-Match: *`)."""
        listed = []
        for part in parts:
            entry: dict[str, Any] = {"PartNumber": part.number, "ETag": part.etag}
            if algorithm is not None and part.checksum is not None:
                entry[f"Checksum{algorithm.value}"] = part.checksum
            listed.append(entry)
        await self._call("CompleteMultipartUpload", partial(
            self.s3.complete_multipart_upload, Bucket=self.bucket, Key=key,
            UploadId=upload_id, MultipartUpload={"Parts": listed}, IfNoneMatch=WRITE_ONCE))

    async def abort(self, key: str, upload_id: str) -> None:
        """Abort the upload and drop its parts; one S3 no longer has is already gone."""
        with contextlib.suppress(UploadGone):
            await self._call("AbortMultipartUpload", partial(
                self.s3.abort_multipart_upload, Bucket=self.bucket, Key=key,
                UploadId=upload_id))

    async def delete_object(self, key: str) -> None:
        await self._call("DeleteObject", partial(
            self.s3.delete_object, Bucket=self.bucket, Key=key))
