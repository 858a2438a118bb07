"""Multipart uploads without a server: part sizes, checksums, and UploadPart URLs signed
by the fast presigner byte for byte as botocore signs them."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from unittest import mock

import pytest

from plugins.video.config import VideoSettings, settings_problems
from plugins.video.multipart import checksums
from plugins.video.multipart.models import ChecksumAlgorithm
from plugins.video.multipart.parts import (
    MAX_OBJECT_BYTES,
    MAX_PART_BYTES,
    MAX_PARTS,
    MIB,
    MIN_PART_BYTES,
    part_bytes,
    part_count,
    part_size_for,
    part_size_problem,
    smallest_part_size,
)
from plugins.video.presign import (
    PART_REQUESTS_KEPT,
    Checksum,
    S3Presigner,
    botocore_presign_part,
    bucket_endpoint,
    matches_botocore,
)
from tests.video.test_presign import CLIENTS, client_credentials, frozen_at, make_s3

SHA256_OF_NOTHING = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="


@pytest.mark.parametrize(("size", "part_size", "count"), [
    (1, 8 * MIB, 1),
    (8 * MIB, 8 * MIB, 1),
    (8 * MIB + 1, 8 * MIB, 2),
    (MAX_PARTS * 8 * MIB, 8 * MIB, MAX_PARTS),
    (MAX_PARTS * 8 * MIB + 1, 16 * MIB, 5001),
    (5 * 1024**3, 8 * MIB, 640),
    (MAX_OBJECT_BYTES, 1024 * MIB, 5120),
])
def test_the_part_size_is_the_smallest_round_size_within_10000_parts(size, part_size, count):
    assert part_size_for(size) == part_size
    assert part_count(size, part_size) == count


def test_every_size_stays_within_s3s_part_limits():
    for size in [1, 5 * MIB, 99 * MIB + 7, 80 * 1024**3 + 3, 1024**4, MAX_OBJECT_BYTES]:
        part_size = part_size_for(size)
        count = part_count(size, part_size)
        assert MIN_PART_BYTES <= part_size <= MAX_PART_BYTES
        assert count <= MAX_PARTS
        assert part_size % MIB == 0
        sizes = [part_bytes(number, size, part_size) for number in (1, count)]
        assert sizes[0] == min(part_size, size)
        assert 1 <= sizes[-1] <= part_size
        assert (count - 1) * part_size + sizes[-1] == size


@pytest.mark.parametrize("size", [0, -1, MAX_OBJECT_BYTES + 1])
def test_a_size_outside_s3s_limits_has_no_part_size(size):
    with pytest.raises(ValueError):
        part_size_for(size)


def test_a_part_number_outside_the_upload_has_no_size():
    with pytest.raises(ValueError):
        part_bytes(3, 16 * MIB, 8 * MIB)
    with pytest.raises(ValueError):
        part_bytes(0, 16 * MIB, 8 * MIB)


def test_crc32c_matches_the_standard_check_value():
    assert checksums.crc32c(b"123456789") == 0xE3069283
    assert checksums.digest(ChecksumAlgorithm.CRC32C, b"") == "AAAAAA=="


def test_the_composite_checksum_is_the_digest_of_the_parts_digests():
    parts = [b"a" * 10, b"b" * 3]
    digests = [checksums.digest(ChecksumAlgorithm.SHA256, part) for part in parts]
    joined = b"".join(hashlib.sha256(part).digest() for part in parts)
    expected = base64.b64encode(hashlib.sha256(joined).digest()).decode()
    assert checksums.composite(ChecksumAlgorithm.SHA256, digests) == f"{expected}-2"
    assert checksums.same_checksum(expected, f"{expected}-2")
    assert checksums.same_checksum(f"{expected}-2", f"{expected}-2")
    assert not checksums.same_checksum(digests[0], f"{expected}-2")


def test_a_digest_must_be_canonical_base64_of_the_right_length():
    sha256, crc32c = ChecksumAlgorithm.SHA256, ChecksumAlgorithm.CRC32C
    assert checksums.is_digest(sha256, SHA256_OF_NOTHING)
    assert not checksums.is_digest(sha256, "AAAAAA==")
    assert not checksums.is_digest(sha256, SHA256_OF_NOTHING[:-2] + "V=")  # stray bits
    assert checksums.is_digest(crc32c, "AAAAAA==")
    assert not checksums.is_digest(crc32c, SHA256_OF_NOTHING)
    assert not checksums.is_digest(crc32c, "AAAA")


@pytest.mark.parametrize(("size", "smallest"), [
    (1, 5 * MIB),
    (MAX_PARTS * 5 * MIB, 5 * MIB),
    (MAX_PARTS * 5 * MIB + 1, 6 * MIB),
    (100 * 1024**3, 11 * MIB),
    (MAX_OBJECT_BYTES, 525 * MIB),
])
def test_a_chosen_part_size_is_whole_mib_within_s3s_limits_and_10000_parts(size, smallest):
    assert smallest_part_size(size) == smallest
    assert part_count(size, smallest) <= MAX_PARTS
    assert smallest == MIN_PART_BYTES or part_count(size, smallest - MIB) > MAX_PARTS
    assert part_size_problem(size, smallest) is None
    assert part_size_problem(size, MAX_PART_BYTES) is None
    for refused in (smallest - MIB, smallest + 1, MAX_PART_BYTES + MIB, 0, -MIB):
        problem = part_size_problem(size, refused)
        assert problem is not None and f"({smallest // MIB} to 5120 MiB)" in problem


PART_REQUESTS = [
    {"upload_id": "2~Zx9.abc_DEF-ghi", "part_number": 1},
    {"upload_id": "odd+/=id", "part_number": 10_000, "content_length": 8 * MIB},
    {"upload_id": "x", "part_number": 2, "content_length": 100,
     "checksum": Checksum("SHA256", SHA256_OF_NOTHING)},
    {"upload_id": "x", "part_number": 3, "content_length": 1,
     "checksum": Checksum("CRC32C", "AAAAAA==")},
]


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE+token/with=odd+chars=="])
@pytest.mark.parametrize(("endpoint_url", "region"), CLIENTS)
def test_part_urls_equal_botocores_byte_for_byte(endpoint_url, region, token):
    s3 = make_s3(endpoint_url, region, token)
    endpoint = bucket_endpoint(s3, "itube-raw-videos")
    credentials = client_credentials(s3)
    for key in ["videos/alice/0b0e4b0e-8a7e-4e4b-9f0e-3f3d3f3d3f3d", "a b+c/ü.mp4"]:
        for request in PART_REQUESTS:
            expected = botocore_presign_part(s3, "itube-raw-videos", key, 900, **request)
            ours = S3Presigner(credentials, clock=frozen_at(expected))
            assert ours.presign_part(endpoint, key, 900, **request) == expected, request


def test_the_start_up_check_covers_part_urls():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")

    class PartsDisagree(S3Presigner):
        def presign_part(self, *args, **kwargs):
            return super().presign_part(*args, **kwargs) + "x"

    assert matches_botocore(s3, S3Presigner(client_credentials(s3)), endpoint, "raw")
    assert not matches_botocore(s3, PartsDisagree(client_credentials(s3)), endpoint, "raw")


def test_the_multipart_settings_are_checked():
    assert settings_problems(VideoSettings()) == []
    problems = settings_problems(VideoSettings(multipart_url_batch=0,
                                               multipart_expiry_seconds=-1))
    assert "plugins.video.multipart_url_batch: must be positive" in problems
    assert "plugins.video.multipart_expiry_seconds: must be positive" in problems
    assert any(problem.startswith("plugins.video.multipart_url_batch: at most 10000")
               for problem in settings_problems(VideoSettings(multipart_url_batch=10_001)))
    assert any(problem.startswith("plugins.video.multipart_expiry_seconds: must not exceed")
               for problem in settings_problems(VideoSettings(
                   multipart_expiry_seconds=90_000, orphan_upload_seconds=86_400)))


def test_one_part_signer_signs_every_part_number_as_botocore_does():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1", "session/token+=")
    endpoint = bucket_endpoint(s3, "itube-raw-videos")
    key = "videos/alice/0b0e4b0e-8a7e-4e4b-9f0e-3f3d3f3d3f3d"
    moment = dt.datetime(2026, 12, 2, 13, 0, 0, tzinfo=dt.UTC)
    signer = S3Presigner(client_credentials(s3), clock=lambda: moment).part_signer(
        endpoint, key, 900, upload_id="u.1", content_length=8 * MIB)
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=moment.replace(tzinfo=None)):
        for number in (1, 2, 9, 10, 99, 100, 1000, 9999, 10_000):
            expected = botocore_presign_part(s3, "itube-raw-videos", key, 900,
                                             upload_id="u.1", part_number=number,
                                             content_length=8 * MIB)
            assert signer.url(number) == expected


def test_an_uploads_parts_share_one_request_a_second_and_each_signs_as_botocore_does():
    """Parts of other lengths and checksums reuse the upload's request made for the second
    (one SHA-256 state of its head); each URL still equals botocore's, and another upload,
    another second or rotated credentials get a request of their own."""
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1", "session/token+=")
    endpoint = bucket_endpoint(s3, "itube-raw-videos")
    key = "videos/alice/0b0e4b0e-8a7e-4e4b-9f0e-3f3d3f3d3f3d"
    moment = [dt.datetime(2026, 12, 2, 13, 0, 0, 10, tzinfo=dt.UTC)]
    presigner = S3Presigner(client_credentials(s3), clock=lambda: moment[0])
    digests = [base64.b64encode(hashlib.sha256(bytes([n])).digest()).decode()
               for n in range(3)]
    requests = [
        {"content_length": 8 * MIB, "checksum": Checksum("SHA256", digests[0])},
        {"content_length": 8 * MIB, "checksum": Checksum("SHA256", digests[1])},
        {"content_length": 17, "checksum": Checksum("SHA256", digests[2])},
    ]
    signers = [presigner.part_signer(endpoint, key, 900, upload_id="u.1", **request)
               for request in requests]
    assert len({id(signer.request_head) for signer in signers}) == 1
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=moment[0].replace(microsecond=0, tzinfo=None)):
        for number, (signer, request) in enumerate(zip(signers, requests, strict=True), 1):
            expected = botocore_presign_part(s3, "itube-raw-videos", key, 900,
                                             upload_id="u.1", part_number=number, **request)
            assert signer.url(number) == expected
        for request in [{"content_length": 5 * MIB}, {"content_length": 1}, {},
                        {"content_length": 3, "checksum": Checksum("CRC32C", "AAAAAA==")}]:
            expected = botocore_presign_part(s3, "itube-raw-videos", key, 900,
                                             upload_id="u.1", part_number=4, **request)
            assert presigner.presign_part(endpoint, key, 900, upload_id="u.1", part_number=4,
                                          **request) == expected, request
    first = signers[0].request_head
    other_upload = presigner.part_signer(endpoint, key, 900, upload_id="u.2",
                                         **requests[0])
    assert other_upload.request_head is not first
    moment[0] = moment[0].replace(second=1)
    next_second = presigner.part_signer(endpoint, key, 900, upload_id="u.1", **requests[0])
    assert next_second.request_head is not first
    assert "X-Amz-Date=20261202T130001Z" in next_second.url(1)


def test_part_requests_kept_stay_bounded():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    presigner = S3Presigner(client_credentials(s3),
                            clock=lambda: dt.datetime(2026, 12, 2, 13, 0, tzinfo=dt.UTC))
    for number in range(PART_REQUESTS_KEPT * 2 + 1):
        presigner.part_signer(endpoint, "k", 900, upload_id=f"u{number}", content_length=1)
    assert 1 <= len(presigner._uploads) <= PART_REQUESTS_KEPT
