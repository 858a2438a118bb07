"""The SigV4 presigner: byte-for-byte equal to botocore's URLs, and accepted by S3.

Equality is checked without patching any clock: botocore signs first, and our presigner
then signs the same request at the X-Amz-Date botocore put in its URL (an injected
clock). Same credentials, expiry, time and request, so the two strings must be equal,
whatever second the test runs in. Some tests also freeze botocore's own clock
(`botocore.auth.get_current_datetime`, the library, not our code) to compare a URL the
running app produced, or one signed at the start of its window.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from typing import Any
from unittest import mock

import boto3
import httpx
import pytest
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials, RefreshableCredentials

from plugins.video.presign import (
    URLS_KEPT_PER_WINDOW,
    S3Presigner,
    SignatureMac,
    botocore_presign,
    bucket_endpoint,
    expires_at,
    matches_botocore,
    signed_at,
)
from tests.video import workflow
from tests.video.support import user

KEYS = [
    "videos/alice/0b7c1f4e-9d7e-4c3e-a1f2-3d4e5f6a7b8c",
    "with space.mp4",
    "nested/deeply/nested/slashes/x.mp4",
    "ünïcödé/日本語/видео.mp4",
    "plus+sign",
    "tilde~name",
    "equals=sign&amp;",
    "percent%20already%2Fencoded",
    "a//double/slash",
    "/leading-slash",
    "trailing-slash/",
    "dots/./and/../segments",
    "odd chars !*'();:@$,?#[]",
    "tab\tand\"quote<>",
]
REQUESTS: list[dict[str, Any]] = [
    {"method": "GET"},
    {"method": "PUT"},
    {"method": "PUT", "content_type": "video/mp4"},
    {"method": "PUT", "content_type": "video/mp4", "content_length": 1234},
    {"method": "PUT", "content_length": 0},
    {"method": "PUT", "content_type": "text/plain;  charset=utf-8"},
    {"method": "PUT", "content_type": "video/mp4", "if_none_match": "*"},
    {"method": "PUT", "content_type": "image/png", "content_length": 99, "if_none_match": "*"},
    {"method": "PUT", "if_none_match": " * "},
]
CLIENTS = [  # (endpoint_url, region): the emulator (path-style) and real AWS (virtual host)
    ("http://127.0.0.1:4566", "us-east-1"),
    ("http://localhost:9000", "eu-west-1"),
    (None, "us-east-1"),
    (None, "eu-central-1"),
]


def make_s3(endpoint_url: str | None, region: str, token: str | None = None) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint_url, region_name=region,
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="wJalr/XUtnFEMI+K7MDENG",
        aws_session_token=token, config=BotoConfig(signature_version="s3v4"),
    )


def frozen_at(url: str) -> Any:
    moment = signed_at(url)
    return lambda: moment


def client_credentials(s3: Any) -> Any:
    """What the client signs with (the app passes `ctx.aws.credentials()`: the same)."""
    return s3._request_signer._credentials


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE+token/with=odd+chars=="])
@pytest.mark.parametrize(("endpoint_url", "region"), CLIENTS)
@pytest.mark.parametrize("bucket", ["itube-raw-videos", "dotted.bucket.name"])
def test_urls_equal_botocores_byte_for_byte(endpoint_url, region, token, bucket):
    s3 = make_s3(endpoint_url, region, token)
    endpoint = bucket_endpoint(s3, bucket)
    credentials = client_credentials(s3)
    for key in KEYS:
        for request in REQUESTS:
            expected = botocore_presign(s3, bucket, key, 900, **request)
            ours = S3Presigner(credentials, clock=frozen_at(expected))
            assert ours.presign(endpoint, key, 900, **request) == expected, (key, request)


def test_path_style_with_an_endpoint_and_virtual_host_on_aws():
    emulated = bucket_endpoint(make_s3("http://127.0.0.1:4566", "us-east-1"), "raw")
    assert (emulated.origin, emulated.path_prefix) == ("http://127.0.0.1:4566", "/raw")
    aws = bucket_endpoint(make_s3(None, "eu-west-1"), "raw")
    assert (aws.origin, aws.path_prefix, aws.region) == (
        "https://raw.s3.amazonaws.com", "", "eu-west-1")


WINDOW_START = dt.datetime(2026, 11, 24, 12, 0, 0, tzinfo=dt.UTC)
LAST_MOMENT = WINDOW_START + dt.timedelta(seconds=59, microseconds=999_999)


@pytest.mark.parametrize("token", [None, "FQoGZXIvYXdzE+token/with=odd+chars=="])
@pytest.mark.parametrize(("endpoint_url", "region"), CLIENTS)
def test_a_windowed_url_equals_botocores_signed_at_the_windows_start(endpoint_url, region,
                                                                      token):
    s3 = make_s3(endpoint_url, region, token)
    endpoint = bucket_endpoint(s3, "itube-processed-videos")
    presigner = S3Presigner(client_credentials(s3), clock=lambda: LAST_MOMENT)
    sign = presigner.window_signer(endpoint, 3600, 60)
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=WINDOW_START.replace(tzinfo=None)):
        for key in KEYS:
            assert sign(key) == botocore_presign(s3, "itube-processed-videos", key, 3660), key


def test_a_key_is_signed_once_a_window_and_again_in_the_next():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    moment = [WINDOW_START + dt.timedelta(seconds=1)]
    presigner = S3Presigner(client_credentials(s3), clock=lambda: moment[0])
    first = presigner.window_signer(endpoint, 3600, 60)("k")
    moment[0] = LAST_MOMENT
    assert presigner.window_signer(endpoint, 3600, 60)("k") is first
    moment[0] = WINDOW_START + dt.timedelta(seconds=60)
    following = presigner.window_signer(endpoint, 3600, 60)("k")
    assert signed_at(following) == moment[0] and signed_at(first) == WINDOW_START


@pytest.mark.parametrize("offset", [0, 0.5, 30, 59, 59.999999])
def test_a_windowed_url_is_valid_for_the_ttl_to_ttl_plus_window_from_when_it_is_handed_out(
    offset,
):
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    handed_out = WINDOW_START + dt.timedelta(seconds=offset)
    presigner = S3Presigner(client_credentials(s3), clock=lambda: handed_out)
    url = presigner.window_signer(bucket_endpoint(s3, "raw"), 300, 60)("k")
    assert "X-Amz-Expires=360&" in url
    lifetime = expires_at(url) - handed_out
    assert dt.timedelta(seconds=300) <= lifetime <= dt.timedelta(seconds=360)


def test_rotated_credentials_sign_a_new_url_at_once_within_the_window():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    credentials = Credentials("AKIDFIRST", "secret-first")
    presigner = S3Presigner(credentials, clock=lambda: LAST_MOMENT)
    before = presigner.window_signer(endpoint, 3600, 60)("k")
    credentials.access_key, credentials.secret_key = "AKIDSECOND", "secret-second"
    after = presigner.window_signer(endpoint, 3600, 60)("k")
    assert "X-Amz-Credential=AKIDFIRST%2F" in before
    assert "X-Amz-Credential=AKIDSECOND%2F" in after
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=WINDOW_START.replace(tzinfo=None)):
        assert after == botocore_presign(
            make_s3_with("AKIDSECOND", "secret-second"), "raw", "k", 3660)


def test_a_window_of_0_signs_each_second_for_the_ttl():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    moment = [WINDOW_START + dt.timedelta(microseconds=100)]
    presigner = S3Presigner(client_credentials(s3), clock=lambda: moment[0])
    first = presigner.window_signer(endpoint, 300, 0)("k")
    moment[0] = WINDOW_START + dt.timedelta(microseconds=999_999)
    assert presigner.window_signer(endpoint, 300, 0)("k") == first
    moment[0] = WINDOW_START + dt.timedelta(seconds=1)
    next_second = presigner.window_signer(endpoint, 300, 0)("k")
    assert "X-Amz-Date=20261124T120000Z&X-Amz-Expires=300&" in first
    assert "X-Amz-Date=20261124T120001Z&X-Amz-Expires=300&" in next_second


def test_a_windows_urls_stay_bounded():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    presigner = S3Presigner(client_credentials(s3), clock=lambda: WINDOW_START)
    sign = presigner.window_signer(endpoint, 3600, 60)
    first = sign("videos/0")
    for index in range(URLS_KEPT_PER_WINDOW + 10):
        sign(f"videos/{index}")
        assert len(presigner._windows[endpoint].urls) <= URLS_KEPT_PER_WINDOW
    assert sign("videos/0") == first


def test_the_signing_key_is_derived_once_a_day_and_rotates_at_midnight():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    moments = iter([
        dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 24, 23, 59, 59, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 25, 0, 0, 0, tzinfo=dt.UTC),
    ])
    presigner = S3Presigner(client_credentials(s3), clock=lambda: next(moments))
    late = presigner.presign(endpoint, "k", 60)
    key_before = presigner._cached
    presigner.presign(endpoint, "k", 60)
    assert presigner._cached is key_before
    after_midnight = presigner.presign(endpoint, "k", 60)
    assert presigner._cached is not key_before
    assert "%2F20261124%2F" in late and "%2F20261125%2F" in after_midnight
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=dt.datetime(2026, 11, 25, 0, 0, 0)):
        assert after_midnight == botocore_presign(s3, "raw", "k", 60)


def test_a_signer_serves_its_second_and_never_outlives_the_credentials():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    moment = [dt.datetime(2026, 11, 24, 12, 0, 0, 100, tzinfo=dt.UTC)]
    credentials = Credentials("AKIDFIRST", "secret-first")
    presigner = S3Presigner(credentials, clock=lambda: moment[0])
    first = presigner.signer(endpoint, 60)
    moment[0] = moment[0].replace(microsecond=999_999)
    assert presigner.signer(endpoint, 60) is first
    assert presigner.signer(endpoint, 61) is not first
    credentials.access_key, credentials.secret_key = "AKIDSECOND", "secret-second"
    rotated = presigner.presign(endpoint, "k", 60)
    assert "X-Amz-Credential=AKIDSECOND%2F" in rotated
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=dt.datetime(2026, 11, 24, 12, 0, 0)):
        assert rotated == botocore_presign(
            make_s3_with("AKIDSECOND", "secret-second"), "raw", "k", 60)
    moment[0] = dt.datetime(2026, 11, 24, 12, 0, 1, tzinfo=dt.UTC)
    assert "X-Amz-Date=20261124T120001Z" in presigner.presign(endpoint, "k", 60)


def make_s3_with(access_key: str, secret_key: str) -> Any:
    return boto3.client(
        "s3", endpoint_url="http://127.0.0.1:4566", region_name="us-east-1",
        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        config=BotoConfig(signature_version="s3v4"),
    )


def test_refreshed_role_credentials_are_used_as_soon_as_botocore_has_them():
    generation = iter(["first", "second"])

    def fetch() -> dict[str, str]:
        name = next(generation)
        expiry = dt.datetime.now(dt.UTC) + (dt.timedelta(seconds=1) if name == "first"
                                             else dt.timedelta(hours=1))
        return {"access_key": f"AKID{name.upper()}", "secret_key": f"secret-{name}",
                "token": f"token-{name}", "expiry_time": expiry.isoformat()}

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role")
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    presigner = S3Presigner(credentials)
    assert presigner.refresh_due()  # one second left: a refresh (network call) is due
    url = presigner.presign(endpoint, "k", 60)
    assert "X-Amz-Credential=AKIDSECOND%2F" in url and "X-Amz-Security-Token=token-second" in url
    assert not presigner.refresh_due()


def test_a_presigner_with_other_credentials_fails_the_start_up_check():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")
    assert matches_botocore(s3, S3Presigner(client_credentials(s3)), endpoint, "raw")
    stranger = S3Presigner(Credentials("AKIDEXAMPLE", "another-secret"))
    assert not matches_botocore(s3, stranger, endpoint, "raw")


def test_a_presigner_whose_window_signer_disagrees_fails_the_start_up_check():
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")

    class Stale(S3Presigner):
        def window_signer(self, *args: Any) -> Any:
            return lambda key: "https://stale.example/" + key

    assert not matches_botocore(s3, Stale(client_credentials(s3)), endpoint, "raw")


def test_a_write_once_url_signs_if_none_match_and_s3_refuses_a_second_put(s3):
    bucket = f"presign-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    presigner = S3Presigner(client_credentials(s3))
    endpoint = bucket_endpoint(s3, bucket)
    url = presigner.presign(endpoint, "once/clip.mp4", 300, method="PUT",
                            content_type="video/mp4", if_none_match="*")
    assert "X-Amz-SignedHeaders=content-type%3Bhost%3Bif-none-match&" in url
    headers = {"Content-Type": "video/mp4", "If-None-Match": "*"}
    assert httpx.put(url, content=b"first", headers=headers).status_code == 200
    second = httpx.put(url, content=b"second", headers=headers)
    assert second.status_code == 412, second.text
    stored = s3.get_object(Bucket=bucket, Key="once/clip.mp4")["Body"].read()
    assert stored == b"first"


def test_the_start_up_check_covers_the_write_once_header():
    """A presigner that left `if-none-match` out of what it signs must fail the check."""
    s3 = make_s3("http://127.0.0.1:4566", "us-east-1")
    endpoint = bucket_endpoint(s3, "raw")

    class Forgetful(S3Presigner):
        def presign(self, *args: Any, if_none_match: str | None = None, **kw: Any) -> str:
            return super().presign(*args, **kw)

    credentials = client_credentials(s3)
    assert matches_botocore(s3, S3Presigner(credentials), endpoint, "raw")
    assert not matches_botocore(s3, Forgetful(credentials), endpoint, "raw")


def test_a_put_url_uploads_and_a_get_url_downloads_through_the_emulator(s3):
    bucket = f"presign-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    presigner = S3Presigner(client_credentials(s3))
    endpoint = bucket_endpoint(s3, bucket)
    key, content = "round trip/ü+~=%/clip.mp4", b"\x00\x01 not really a video"
    put_url = presigner.presign(endpoint, key, 300, method="PUT", content_type="video/mp4",
                                content_length=len(content))
    put = httpx.put(put_url, content=content, headers={"Content-Type": "video/mp4"})
    assert put.status_code == 200, put.text
    stored = s3.head_object(Bucket=bucket, Key=key)
    assert (stored["ContentLength"], stored["ContentType"]) == (len(content), "video/mp4")
    get = httpx.get(presigner.presign(endpoint, key, 300))
    assert get.status_code == 200 and get.content == content


@pytest.fixture
def db_url(sqlite_url):
    """Presigning touches no table: one database backend is enough here."""
    return sqlite_url


def test_the_app_signs_every_bucket_with_the_presigner_and_matches_botocore(client, s3):
    storage = client.app.state.ctx.state["video"].storage
    buckets = storage.buckets
    assert set(storage.endpoints) == {buckets.raw, buckets.thumbnails, buckets.processed}
    answer = workflow.request_upload_url(client, user("alice"), content_type="video/webm",
                                         size_bytes=4321).json()
    with mock.patch("botocore.auth.get_current_datetime",
                    return_value=signed_at(answer["url"]).replace(tzinfo=None)):
        expected = botocore_presign(s3, buckets.raw, answer["media_id"], 900, method="PUT",
                                    content_type="video/webm", content_length=4321,
                                    if_none_match="*")
    assert answer["url"] == expected


@pytest.mark.parametrize("key", [b"", b"k" * 32, b"k" * 64, b"long key " * 10])
@pytest.mark.parametrize(("head", "tail"), [(b"", b""), (b"AWS4-HMAC-SHA256\n", b"f" * 64),
                                            (b"x" * 200, b"tail")])
def test_the_signature_mac_is_hmac_sha256_of_the_head_then_the_tail(key, head, tail):
    mac = SignatureMac.keyed(key, head)
    expected = hmac.new(key, head + tail, hashlib.sha256).hexdigest()
    assert mac.hexdigest(tail) == expected
    assert mac.hexdigest(tail) == expected  # the kept states are copied, never updated
