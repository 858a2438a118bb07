"""Upload integrity: checksums signed into upload URLs (the presigner against botocore, real
PUTs through the emulator), validated in the body, recorded at metadata time and handed to
the transcoder by the by-key route."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx
import pytest

from plugins.video.presign import (
    Checksum,
    S3Presigner,
    botocore_presign,
    bucket_endpoint,
    matches_botocore,
)
from plugins.video.transcoder import CHECKSUM_MISMATCH, TranscoderExample
from tests.video import workflow
from tests.video.support import TRANSCODER, problem_fields, user
from tests.video.test_presign import CLIENTS, KEYS, client_credentials, frozen_at, make_s3

ALICE = user("alice")
SHA256 = Checksum("SHA256", base64.b64encode(hashlib.sha256(b"x").digest()).decode())
CRC32C = Checksum("CRC32C", "yZRlqg==")
REQUESTS: list[dict[str, Any]] = [
    {"method": "PUT", "checksum": SHA256},
    {"method": "PUT", "checksum": CRC32C},
    {"method": "PUT", "content_type": "video/mp4", "if_none_match": "*", "checksum": SHA256},
    {"method": "PUT", "content_type": "video/webm", "content_length": 1234,
     "if_none_match": "*", "checksum": CRC32C},
]


def sha256_of(content: bytes) -> str:
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE+token/with=odd+chars=="])
@pytest.mark.parametrize(("endpoint_url", "region"), CLIENTS)
def test_checksum_urls_equal_botocores_byte_for_byte(endpoint_url, region, token):
    s3 = make_s3(endpoint_url, region, token)
    endpoint = bucket_endpoint(s3, "itube-raw-videos")
    credentials = client_credentials(s3)
    for key in KEYS:
        for request in REQUESTS:
            expected = botocore_presign(s3, "itube-raw-videos", key, 900, **request)
            ours = S3Presigner(credentials, clock=frozen_at(expected))
            assert ours.presign(endpoint, key, 900, **request) == expected, (key, request)


def test_the_start_up_check_covers_the_checksum_headers():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")

    class Careless(S3Presigner):
        def presign(self, *args: Any, checksum: Checksum | None = None, **kw: Any) -> str:
            return super().presign(*args, **kw)

    credentials = client_credentials(s3)
    assert matches_botocore(s3, S3Presigner(credentials), endpoint, "raw")
    assert not matches_botocore(s3, Careless(credentials), endpoint, "raw")


def test_a_signer_is_kept_per_checksum():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    expected = botocore_presign(s3, "raw", "k", 900, method="PUT", checksum=SHA256)
    presigner = S3Presigner(client_credentials(s3), clock=frozen_at(expected))
    first = presigner.presign(endpoint, "k", 900, method="PUT", checksum=SHA256)
    other = presigner.presign(endpoint, "k", 900, method="PUT", checksum=CRC32C)
    assert first == expected and other != first


# -- the upload-url body and the single PUT -------------------------------------------------


def _signed_headers(url: str) -> list[str]:
    query = httpx.URL(url).params
    return query["X-Amz-SignedHeaders"].split(";")


def test_a_declared_sha256_is_signed_into_the_url_and_returned_as_headers(client):
    digest = sha256_of(workflow.SAMPLE_VIDEO)
    answer = workflow.request_upload_url(client, ALICE, checksum_sha256=digest).json()
    assert answer["headers"] == {
        "Content-Type": "video/mp4", "If-None-Match": "*",
        "x-amz-checksum-sha256": digest, "x-amz-sdk-checksum-algorithm": "SHA256",
    }
    assert _signed_headers(answer["url"]) == [
        "content-type", "host", "if-none-match", "x-amz-checksum-sha256",
        "x-amz-sdk-checksum-algorithm"]


def test_a_declared_crc32c_is_signed_for_thumbnails_too(client):
    answer = workflow.request_upload_url(client, ALICE, thumbnail=True, content_type="image/png",
                                         checksum_crc32c="yZRlqg==").json()
    assert answer["headers"]["x-amz-checksum-crc32c"] == "yZRlqg=="
    assert answer["headers"]["x-amz-sdk-checksum-algorithm"] == "CRC32C"
    assert "x-amz-checksum-crc32c" in _signed_headers(answer["url"])


@pytest.mark.parametrize(("field", "value"), [
    ("checksum_sha256", "not base64 at all"),
    ("checksum_sha256", base64.b64encode(b"\x00" * 31).decode()),  # 31 bytes
    ("checksum_sha256", sha256_of(b"x").rstrip("=")),  # padding missing
    ("checksum_sha256", sha256_of(b"x")[:42] + "B="),  # stray bits: not canonical
    ("checksum_crc32c", "AAAAAAA="),  # 5 bytes
    ("checksum_crc32c", sha256_of(b"x")),
    ("checksum_crc32c", 1234),
])
def test_a_malformed_checksum_is_a_422_naming_the_field(client, field, value):
    response = workflow.request_upload_url(client, ALICE, **{field: value})
    assert problem_fields(response) == [field]


def test_two_checksums_at_once_are_a_422_naming_the_second(client):
    response = workflow.request_upload_url(client, ALICE, checksum_sha256=sha256_of(b"x"),
                                           checksum_crc32c="yZRlqg==")
    assert problem_fields(response) == ["checksum_crc32c"]


def test_the_document_publishes_the_checksum_fields(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    body = next(schema for name, schema in schemas.items()
                if name.startswith("Video") and "checksum_sha256" in schema.get("properties", {}))
    assert set(body["properties"]) >= {"checksum_sha256", "checksum_crc32c"}
    assert body["properties"]["checksum_sha256"]["pattern"].startswith("^")


def test_the_right_body_uploads_and_its_checksum_reaches_the_transcoder(client, s3):
    digest = sha256_of(workflow.SAMPLE_VIDEO)
    answer = workflow.request_upload_url(client, ALICE, size_bytes=len(workflow.SAMPLE_VIDEO),
                                         checksum_sha256=digest).json()
    put = workflow.put_file(answer, workflow.SAMPLE_VIDEO)
    assert put.status_code == 200, put.text
    key = answer["media_id"]
    stored = s3.head_object(Bucket="itube-raw-videos", Key=key, ChecksumMode="ENABLED")
    assert stored["ChecksumSHA256"] == digest
    created = workflow.register(client, ALICE, key)
    assert created.status_code == 201, created.text
    assert "checksum" not in created.json()  # the owner has it: they computed it
    found = workflow.find_by_key(client, TRANSCODER, key)
    assert found.json() == {"video_id": created.json()["id"],
                            "checksum": {"algorithm": "SHA256", "value": digest}}


def test_an_upload_without_a_checksum_has_none_for_the_transcoder(client):
    key = workflow.upload(client, ALICE)
    created = workflow.register(client, ALICE, key)
    found = workflow.find_by_key(client, TRANSCODER, key).json()
    assert found == {"video_id": created.json()["id"], "checksum": None}


def test_a_multipart_objects_composite_checksum_is_recorded(client, s3):
    """An object completed from parts (here made with boto3 directly) carries S3's composite
    checksum; metadata records what HeadObject returns."""
    key = workflow.request_upload_url(client, ALICE).json()["media_id"]
    part = b"p" * (5 * 1024 * 1024)
    created = s3.create_multipart_upload(Bucket="itube-raw-videos", Key=key,
                                         ContentType="video/mp4", ChecksumAlgorithm="SHA256")
    sent = s3.upload_part(Bucket="itube-raw-videos", Key=key, UploadId=created["UploadId"],
                          PartNumber=1, Body=part, ChecksumSHA256=sha256_of(part))
    s3.complete_multipart_upload(
        Bucket="itube-raw-videos", Key=key, UploadId=created["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": sent["ETag"],
                                    "ChecksumSHA256": sha256_of(part)}]})
    head = s3.head_object(Bucket="itube-raw-videos", Key=key, ChecksumMode="ENABLED")
    assert workflow.register(client, ALICE, key).status_code == 201
    found = workflow.find_by_key(client, TRANSCODER, key).json()
    assert found["checksum"] == {"algorithm": "SHA256", "value": head["ChecksumSHA256"]}


def test_the_emulator_does_not_check_the_body_against_the_signed_checksum(client, s3):
    """moto (5.2) neither verifies presigned signatures nor compares the body with
    `x-amz-checksum-sha256`: it stores the declared value. Real S3 answers 400 BadDigest.
    Should the emulator start checking, this test fails and docs/uploads.md must change."""
    declared = sha256_of(workflow.SAMPLE_VIDEO)
    answer = workflow.request_upload_url(client, ALICE, checksum_sha256=declared).json()
    put = workflow.put_file(answer, b"another body")
    assert put.status_code == 200, put.text
    stored = s3.head_object(Bucket="itube-raw-videos", Key=answer["media_id"],
                            ChecksumMode="ENABLED")
    assert stored["ChecksumSHA256"] == declared


# -- the example transcoder ----------------------------------------------------------------


class ServiceHeaders(httpx.Auth):
    """The stand-in service auth's header on every request the transcoder sends."""

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers.update(TRANSCODER.headers)
        yield request


def _transcode(client: Any, s3: Any, key: str, size: int) -> dict[str, Any]:
    """One upload event through the example transcoder; the video as its owner sees it."""
    out: list[str] = []
    transcoder = TranscoderExample(client, None, "", auth=ServiceHeaders(), s3=s3,
                                   out=out.append)
    transcoder.handle_record({"s3": {"bucket": {"name": "itube-raw-videos"},
                                     "object": {"key": key, "size": size}}})
    video_id = workflow.find_by_key(client, TRANSCODER, key).json()["video_id"]
    return client.get(f"{workflow.PREFIX}/{video_id}", **ALICE.request_options()).json()


def test_the_transcoder_completes_a_video_whose_bytes_match_its_checksum(client, s3):
    content = workflow.SAMPLE_VIDEO
    answer = workflow.request_upload_url(client, ALICE, checksum_sha256=sha256_of(content)).json()
    assert workflow.put_file(answer, content).status_code == 200
    assert workflow.register(client, ALICE, answer["media_id"]).status_code == 201
    video = _transcode(client, s3, answer["media_id"], len(content))
    assert video["processing_status"] == "COMPLETED", video


def test_the_transcoder_fails_a_video_whose_bytes_differ_from_its_checksum(client, s3):
    """The emulator kept a body that does not match the declared checksum (real S3 refuses
    it): reading it back with checksum mode on, boto3 sees the difference."""
    answer = workflow.request_upload_url(
        client, ALICE, checksum_sha256=sha256_of(workflow.SAMPLE_VIDEO)).json()
    assert workflow.put_file(answer, b"not the declared bytes").status_code == 200
    assert workflow.register(client, ALICE, answer["media_id"]).status_code == 201
    video = _transcode(client, s3, answer["media_id"], 22)
    assert video["processing_status"] == "FAILED"
    assert video["failure_reason"] == CHECKSUM_MISMATCH


def test_the_transcoder_reads_a_multipart_object_part_by_part(client, s3):
    key = workflow.request_upload_url(client, ALICE).json()["media_id"]
    parts = [b"a" * (5 * 1024 * 1024), b"b" * 1024]
    created = s3.create_multipart_upload(Bucket="itube-raw-videos", Key=key,
                                         ContentType="video/mp4", ChecksumAlgorithm="SHA256")
    completed = []
    for number, part in enumerate(parts, start=1):
        sent = s3.upload_part(Bucket="itube-raw-videos", Key=key, UploadId=created["UploadId"],
                              PartNumber=number, Body=part, ChecksumSHA256=sha256_of(part))
        completed.append({"PartNumber": number, "ETag": sent["ETag"],
                          "ChecksumSHA256": sha256_of(part)})
    s3.complete_multipart_upload(Bucket="itube-raw-videos", Key=key,
                                 UploadId=created["UploadId"],
                                 MultipartUpload={"Parts": completed})
    assert workflow.register(client, ALICE, key).status_code == 201
    video = _transcode(client, s3, key, sum(map(len, parts)))
    assert video["processing_status"] == "COMPLETED", video
