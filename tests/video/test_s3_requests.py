"""CreateMultipartUpload without botocore: the same request botocore signs, byte for byte
(path-style and virtual-host, with and without a session token or checksum algorithm),
accepted by the emulator, and a 503 in bounded time when S3 is down, silent or answering
errors.

botocore's own request is caught with its `before-send` event (the library's hook, not our
code) and not sent; ours is signed at the X-Amz-Date botocore put in it (an injected clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config as BotoConfig

from core.config import AwsSection
from core.errors import ServiceUnavailable
from plugins.video.multipart.models import ChecksumAlgorithm
from plugins.video.multipart.s3 import MultipartStore
from plugins.video.presign import S3Presigner, bucket_endpoint
from plugins.video.s3_requests import (
    S3Requests,
    create_matches_botocore,
    create_request,
    request_endpoint,
    sendable_key,
    upload_id_of,
)
from tests.faults.support import upstream_of
from tests.support.proxy import FaultProxy
from tests.support.services import free_port

pytestmark = pytest.mark.anyio
BUCKET = "itube-raw-videos"
KEYS = ["videos/alice/0b7c1f4e-9d7e-4c3e-a1f2-3d4e5f6a7b8c", "with space.mp4",
        "ünïcödé/日本語/видео.mp4", "plus+sign~tilde=eq&amp", "odd chars !*'();:@$,?#[]"]
CLIENTS = [  # (endpoint_url, region): the emulator (path-style) and real AWS (virtual host)
    ("http://127.0.0.1:4566", "us-east-1"),
    ("http://localhost:9000", "eu-west-1"),
    (None, "us-east-1"),
    (None, "eu-central-1"),
]
CONNECT, READ, ATTEMPTS = 0.5, 1.0, 2
FAST = AwsSection(connect_timeout_seconds=CONNECT, read_timeout_seconds=READ,
                  max_attempts=ATTEMPTS)
BOUND = ATTEMPTS * (CONNECT + READ)
MARGIN = 2.0
INITIATED = (b'<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult '
             b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key>'
             b"<UploadId>abc.DEF-123~</UploadId></InitiateMultipartUploadResult>")


def make_s3(endpoint_url: str | None, region: str, token: str | None = None) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=region,
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalr/XUtnFEMI+K7MDENG",
        aws_session_token=token, config=BotoConfig(signature_version="s3v4"),
    )


def credentials_of(s3: Any) -> Any:
    return s3._request_signer._credentials


class _Body:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield INITIATED


def botocore_sent(s3: Any, key: str, content_type: str, algorithm: str | None) -> Any:
    """The request botocore's client makes for CreateMultipartUpload, stopped before it
    goes out."""
    seen = []

    def stop(request: Any, **_: Any) -> AWSResponse:
        seen.append(request)
        return AWSResponse(request.url, 200, {}, _Body())

    params: dict[str, Any] = {"Bucket": BUCKET, "Key": key, "ContentType": content_type}
    if algorithm is not None:
        params["ChecksumAlgorithm"] = algorithm
    s3.meta.events.register("before-send.s3.CreateMultipartUpload", stop)
    assert s3.create_multipart_upload(**params)["UploadId"] == "abc.DEF-123~"
    return seen[0]


def signed_part(request: Any) -> dict[str, str]:
    unsigned = {"user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "content-length"}
    return {name.lower(): value.decode() if isinstance(value, bytes) else value
            for name, value in request.headers.items() if name.lower() not in unsigned}


def at(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


@pytest.mark.parametrize("endpoint_url,region", CLIENTS)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE+/token=="])
@pytest.mark.parametrize("content_type,algorithm", [
    ("video/mp4", None), ("video/quicktime", "SHA256"), ("text/plain;  charset=utf-8", "CRC32C"),
])
def test_our_request_is_botocores_byte_for_byte(endpoint_url, region, token, content_type,
                                                algorithm):
    s3 = make_s3(endpoint_url, region, token)
    endpoint = request_endpoint(s3, BUCKET)
    for key in KEYS:
        expected = botocore_sent(s3, key, content_type, algorithm)
        headers = signed_part(expected)
        signer = S3Presigner(credentials_of(s3),
                             clock=functools.partial(at, headers["x-amz-date"]))
        ours = create_request(signer, endpoint, key, content_type, algorithm)
        assert ours.url == expected.url
        assert ours.method == expected.method == "POST"
        assert ours.headers == headers
        assert ours.headers["authorization"] == headers["authorization"]
        assert ("x-amz-security-token" in ours.headers) == (token is not None)


def test_the_request_host_is_botocores_own_not_the_presigners():
    """Outside us-east-1 botocore presigns on the global host but calls the regional one."""
    s3 = make_s3(None, "eu-west-1")
    endpoint = request_endpoint(s3, BUCKET)
    assert endpoint.host == f"{BUCKET}.s3.eu-west-1.amazonaws.com"
    assert endpoint.region == "eu-west-1"
    assert bucket_endpoint(s3, BUCKET).host != endpoint.host
    assert create_matches_botocore(s3, S3Presigner(credentials_of(s3)), endpoint, BUCKET)


def test_the_check_refuses_an_endpoint_botocore_does_not_use():
    s3 = make_s3(None, "eu-west-1")
    presign_endpoint = bucket_endpoint(s3, BUCKET)
    assert not create_matches_botocore(s3, S3Presigner(credentials_of(s3)), presign_endpoint,
                                       BUCKET)


def test_keys_httpx_would_rewrite_are_left_to_botocore():
    assert sendable_key("videos/alice/0b7c1f4e")
    assert sendable_key("videos/a.b/..c/x.")
    assert not sendable_key("videos/../x")
    assert not sendable_key("videos/./x")


def test_the_upload_id_is_read_with_or_without_a_namespace():
    assert upload_id_of(INITIATED) == "abc.DEF-123~"
    assert upload_id_of(b"<R><UploadId>x</UploadId></R>") == "x"
    with pytest.raises(ValueError):
        upload_id_of(b"<Error><Code>InternalError</Code></Error>")


# -- against the emulator -------------------------------------------------------------------


@pytest.fixture
def emulator_s3(moto_endpoint: str) -> Any:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=BotoConfig(signature_version="s3v4"))
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=BUCKET)
    return s3


def requests_to(s3: Any, origin: str | None = None, bucket: str = BUCKET) -> S3Requests:
    endpoint = request_endpoint(s3, bucket)
    if origin is not None:
        host = origin.split("://", 1)[1]
        endpoint = type(endpoint)(origin=origin, path_prefix=endpoint.path_prefix, host=host,
                                  region=endpoint.region)
    return S3Requests(S3Presigner(credentials_of(s3)), endpoint, FAST)


async def test_the_emulator_starts_the_upload_we_ask_for(emulator_s3):
    sender = requests_to(emulator_s3)
    key = f"videos/alice/{uuid.uuid4()}"
    try:
        upload_id = await sender.create_multipart_upload(key, "video/mp4", "SHA256")
    finally:
        await sender.aclose()
    listed = emulator_s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key)["Uploads"]
    assert [(upload["Key"], upload["UploadId"]) for upload in listed] == [(key, upload_id)]
    emulator_s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id)


async def test_the_store_sends_on_the_loop_and_keeps_boto3_where_it_must(emulator_s3):
    """botocore sees only the requests our signer does not make: a key with a `..`
    segment, and any request while the credentials are due for a refresh."""
    seen: list[str] = []
    emulator_s3.meta.events.register(
        "before-send.s3.CreateMultipartUpload",
        lambda request, **_: seen.append(request.url) if "probe-" in request.url else None)
    presigner = S3Presigner(credentials_of(emulator_s3))
    store = MultipartStore(emulator_s3, BUCKET, presigner=presigner, aws=FAST)
    try:
        plain = f"videos/probe-{uuid.uuid4()}"
        await store.create(plain, "video/mp4", ChecksumAlgorithm.CRC32C)
        assert seen == []
        dotted = f"videos/../probe-{uuid.uuid4()}"
        await store.create(dotted, "video/mp4", None)
        assert len(seen) == 1
        presigner.refresh_due = lambda: True  # type: ignore[method-assign]
        await store.create(f"videos/probe-{uuid.uuid4()}", "video/mp4", None)
        assert len(seen) == 2
    finally:
        await store.aclose()
    keys = {upload["Key"] for upload in
            emulator_s3.list_multipart_uploads(Bucket=BUCKET, Prefix="videos/")["Uploads"]}
    assert plain in keys


# -- faults -----------------------------------------------------------------------------------


async def assert_unavailable_within(sender: S3Requests, bound: float) -> None:
    started = time.monotonic()
    try:
        with pytest.raises(ServiceUnavailable):
            await sender.create_multipart_upload(f"videos/a/{uuid.uuid4()}", "video/mp4", None)
    finally:
        await sender.aclose()
    assert time.monotonic() - started < bound


async def test_s3_refusing_connections_is_a_503_at_once(emulator_s3):
    await assert_unavailable_within(
        requests_to(emulator_s3, f"http://127.0.0.1:{free_port()}"), MARGIN)


async def test_a_black_holed_s3_is_a_503_within_the_aws_bound(emulator_s3, moto_endpoint):
    with FaultProxy(*upstream_of(moto_endpoint)) as proxy:
        proxy.black_hole()
        started = time.monotonic()
        await assert_unavailable_within(
            requests_to(emulator_s3, f"http://127.0.0.1:{proxy.port}"), BOUND + MARGIN)
        # each try waited for its read timeout: the tries were all made
        assert time.monotonic() - started >= ATTEMPTS * READ


async def test_an_error_answer_is_a_503_without_retrying_it(emulator_s3):
    """A bucket that does not exist: S3 answers 404 NoSuchBucket, which no retry mends."""
    missing = f"itube-missing-{uuid.uuid4().hex[:8]}"
    sender = S3Requests(S3Presigner(credentials_of(emulator_s3)),
                        request_endpoint(emulator_s3, missing), FAST)
    await assert_unavailable_within(sender, MARGIN)


@contextlib.asynccontextmanager
async def failing_s3(status: int) -> AsyncIterator[tuple[str, list[int]]]:
    """An HTTP server answering every request with `status` and an S3 error document; the
    list counts the requests."""
    answered: list[int] = []
    body = b"<Error><Code>InternalError</Code><Message>We encountered an error</Message></Error>"

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while await reader.readuntil(b"\r\n\r\n"):
                answered.append(status)
                writer.write(b"HTTP/1.1 %d Error\r\nContent-Length: %d\r\n\r\n%s"
                             % (status, len(body), body))
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}", answered


async def test_a_failing_s3_is_tried_max_attempts_times_then_a_503(emulator_s3):
    async with failing_s3(500) as (origin, answered):
        await assert_unavailable_within(requests_to(emulator_s3, origin), MARGIN)
    assert answered == [500] * ATTEMPTS
