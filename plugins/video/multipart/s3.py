"""S3's multipart API for the ledger's uploads: each call a round trip, run in a thread.

A fault (S3 down, refused credentials, a timeout) is a 503; the answers the service
decides on (an upload S3 no longer has, a completion S3 refuses) are their own errors.
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
from core.errors import ServiceUnavailable
from plugins.video.multipart.models import ChecksumAlgorithm
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
    """The multipart calls on one bucket through the app's S3 client."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3 = s3
        self.bucket = bucket

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
