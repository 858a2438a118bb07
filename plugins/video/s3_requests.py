"""S3 API calls made on the event loop: signed by our SigV4 header signer, sent with httpx.

Starting a multipart upload through boto3 cost ~2.5 ms of CPU (its request model, endpoint
rules, event handlers, signing and urllib3, plus the hop to a worker thread) beside the
~0.2 ms its 100 part URLs cost: ten times an upload URL. Here CreateMultipartUpload is
the request botocore would send, byte for byte in what is signed, made with the
presigner's cached signing key, sent through one pooled httpx transport, and its UploadId
read with the standard library's XML parser.

The request's URL and signing region are read once off a request botocore itself made for
the bucket (stopped before it is sent), and `create_matches_botocore` checks our signed
headers against botocore's for the same requests before the fast path is trusted; where
it is not (no static or cached credentials, another addressing style, a key botocore and
httpx would write differently), the caller keeps boto3.

Faults behave as boto3's under `[aws]`: `connect_timeout_seconds` to connect,
`read_timeout_seconds` for each read of the answer, `max_attempts` tries of a call that
timed out, was refused or met a 5xx or throttling answer; then, as for any other error
answer, `ServiceUnavailable`. No pause between tries: the `[aws]` bound stays
`max_attempts × (connect + read)`.
"""

from __future__ import annotations

import functools
import logging
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
from botocore.awsrequest import AWSResponse

from core.config import AwsSection
from core.errors import ServiceUnavailable
from plugins.video.presign import (
    DEFAULT_PORTS,
    BucketEndpoint,
    S3Presigner,
    SignedRequest,
    encode_key,
    signed_at,
)

log = logging.getLogger("itube.video.s3")
UNAVAILABLE = "Object storage did not answer; try again"
# What botocore's standard retry mode tries again besides timeouts and refused connections.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRIED_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout",
                           "RequestTimeoutException", "PriorRequestNotComplete",
                           "InternalError", "ServiceUnavailable"})
# Headers botocore sends but does not sign (and httpx writes its own of).
UNSIGNED_HEADERS = frozenset({"user-agent", "amz-sdk-invocation-id", "amz-sdk-request",
                              "content-length", "expect", "x-amzn-trace-id"})
# Connections kept to S3, as many as the boto3 clients' pools (core.aws).
MAX_CONNECTIONS = 32
CHECK_PREFIX = "itube-signing-check"


class S3Error(Exception):
    """S3 answered an error: its status and code (the message may quote the request)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code


def create_upload_headers(content_type: str, checksum_algorithm: str | None) -> dict[str, str]:
    """The headers CreateMultipartUpload sends for these parameters (as botocore names them)."""
    headers = {"Content-Type": content_type}
    if checksum_algorithm is not None:
        headers["x-amz-checksum-algorithm"] = checksum_algorithm
    return headers


def create_request(presigner: S3Presigner, endpoint: BucketEndpoint, key: str,
                   content_type: str, checksum_algorithm: str | None) -> SignedRequest:
    """CreateMultipartUpload (`POST /{key}?uploads`) of `key`, signed."""
    return presigner.sign_request(endpoint, "POST", key, query=[("uploads", "")],
                                  headers=create_upload_headers(content_type, checksum_algorithm))


def sendable_key(key: str) -> bool:
    """Whether httpx sends `key`'s path as botocore does: it would resolve `.` and `..`."""
    return not any(segment in {".", ".."} for segment in key.split("/"))


def upload_id_of(body: bytes) -> str:
    """The UploadId of an InitiateMultipartUploadResult; ValueError when it has none."""
    root = ElementTree.fromstring(body)
    for element in root.iter():
        if element.tag.rpartition("}")[2] == "UploadId" and element.text:
            return element.text
    raise ValueError("no UploadId in S3's answer")


def error_code_of(body: bytes) -> str:
    """The Code of an S3 error document, or "" when the body is not one."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return ""
    for element in root.iter():
        if element.tag.rpartition("}")[2] == "Code":
            return element.text or ""
    return ""


class S3Requests:
    """Sends signed S3 requests to one bucket's endpoint, within the `[aws]` bounds."""

    def __init__(self, presigner: S3Presigner, endpoint: BucketEndpoint,
                 aws: AwsSection) -> None:
        self.presigner = presigner
        self.endpoint = endpoint
        self.attempts = max(1, aws.max_attempts)
        self.timeout = httpx.Timeout(aws.read_timeout_seconds,
                                     connect=aws.connect_timeout_seconds,
                                     pool=aws.connect_timeout_seconds).as_dict()
        # The transport alone: a Client's layers (cookies, auth, redirects, hooks, URL
        # merging) cost as much CPU again as the request, and none of them applies here.
        self.transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS))

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def create_multipart_upload(self, key: str, content_type: str,
                                      checksum_algorithm: str | None) -> str:
        """Start a multipart upload at `key`: S3's UploadId."""
        answer = await self.send("CreateMultipartUpload", lambda: create_request(
            self.presigner, self.endpoint, key, content_type, checksum_algorithm))
        try:
            return upload_id_of(answer.content)
        except (ValueError, ElementTree.ParseError) as exc:
            log.warning("S3 call failed", extra={"action": "CreateMultipartUpload",
                                                 "error": f"unreadable answer: {exc}"})
            raise ServiceUnavailable(UNAVAILABLE) from None

    async def send(self, action: str, signed: Callable[[], SignedRequest]) -> httpx.Response:
        """The 2xx answer to the request `signed()` makes (signed again for each try, as its
        date must be recent), its body read; ServiceUnavailable once the tries are spent or
        S3 refuses."""
        problem = ""
        for _ in range(self.attempts):
            try:
                answer = await self._exchange(signed())
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if answer.is_success:
                return answer
            code = error_code_of(answer.content)
            problem = f"{answer.status_code} {code}".strip()
            if answer.status_code not in RETRIED_STATUSES and code not in RETRIED_CODES:
                break
        log.warning("S3 call failed", extra={"action": action, "error": problem})
        raise ServiceUnavailable(UNAVAILABLE)

    async def _exchange(self, signed: SignedRequest) -> httpx.Response:
        request = httpx.Request(signed.method, signed.url, headers=signed.headers,
                                extensions={"timeout": self.timeout})
        answer = await self.transport.handle_async_request(request)
        try:
            await answer.aread()
        finally:
            await answer.aclose()
        return answer


# -- botocore as the reference --------------------------------------------------------------


def botocore_request(s3: Any, operation: str, **params: Any) -> Any:
    """The request botocore's client `s3` makes for `operation` (an AWSPreparedRequest),
    stopped before it is sent. `params["Key"]` must be unique to this call: only the
    request for it is stopped, so the client can serve others meanwhile."""
    marker = encode_key(params["Key"])
    seen = []
    event = f"before-send.s3.{operation}"
    handler_id = f"itube-capture-{uuid.uuid4()}"

    def capture(request: Any, **_: Any) -> AWSResponse | None:
        if marker not in request.url:
            return None
        seen.append(request)
        return AWSResponse(request.url, 200, {}, _Body(_FAKE_ANSWERS.get(operation, b"")))

    s3.meta.events.register(event, capture, unique_id=handler_id)
    try:
        getattr(s3, _method_name(operation))(**params)
    finally:
        s3.meta.events.unregister(event, unique_id=handler_id)
    return seen[0]


_FAKE_ANSWERS = {
    "CreateMultipartUpload": b"<InitiateMultipartUploadResult><UploadId>check</UploadId>"
                             b"</InitiateMultipartUploadResult>",
}


@attrs.frozen
class _Body:
    content: bytes

    def stream(self, **_: Any) -> Any:
        yield self.content


def _method_name(operation: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char
                   for char in operation).lstrip("_")


def botocore_create(s3: Any, bucket: str, key: str, content_type: str,
                    checksum_algorithm: str | None) -> Any:
    """botocore's CreateMultipartUpload request for these parameters (not sent)."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "ContentType": content_type}
    if checksum_algorithm is not None:
        params["ChecksumAlgorithm"] = checksum_algorithm
    return botocore_request(s3, "CreateMultipartUpload", **params)


def signed_headers_of(request: Any) -> dict[str, str]:
    """A botocore request's headers that are signed or carry the signature, lower case."""
    headers = {}
    for name, value in request.headers.items():
        if name.lower() not in UNSIGNED_HEADERS:
            headers[name.lower()] = value.decode() if isinstance(value, bytes) else str(value)
    return headers


def request_endpoint(s3: Any, bucket: str) -> BucketEndpoint:
    """Where botocore sends `bucket`'s API calls (its presigned URLs may name another host:
    the global one) and the region it signs them for."""
    key = f"{CHECK_PREFIX}/{uuid.uuid4()}"
    request = botocore_create(s3, bucket, key, "video/mp4", None)
    parts = urlsplit(request.url)
    suffix = "/" + encode_key(key)
    if not parts.path.endswith(suffix):
        raise ValueError(f"unexpected request shape for bucket {bucket!r}")
    credential = signed_headers_of(request)["authorization"].split("Credential=")[1]
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return BucketEndpoint(origin=f"{parts.scheme}://{parts.netloc}",
                          path_prefix=parts.path[: -len(suffix)], host=host,
                          region=credential.split(",")[0].split("/")[2])


def create_matches_botocore(s3: Any, presigner: S3Presigner, endpoint: BucketEndpoint,
                            bucket: str) -> bool:
    """Whether our CreateMultipartUpload requests equal botocore's for `bucket`: URL,
    method and every signed header, the Authorization among them. Each is signed at the
    X-Amz-Date botocore used, so no clock is patched."""
    cases = [("video/mp4", None), ("video/quicktime", "SHA256"), ("video/webm", "CRC32C")]
    for content_type, algorithm in cases:
        key = f"{CHECK_PREFIX}/{uuid.uuid4()}/a b+c~d=e%f/ü.mp4"
        expected = botocore_create(s3, bucket, key, content_type, algorithm)
        headers = signed_headers_of(expected)
        at_its_date = S3Presigner(presigner.credentials, clock=functools.partial(
            signed_at, f"?X-Amz-Date={headers['x-amz-date']}"))
        ours = create_request(at_its_date, endpoint, key, content_type, algorithm)
        if (ours.method, ours.url, ours.headers) != (expected.method, expected.url, headers):
            return False
    return True
