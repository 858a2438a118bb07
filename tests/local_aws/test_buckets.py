"""What the emulated buckets carry for browsers and for abandoned uploads: CORS rules on
each bucket, the raw bucket's AbortIncompleteMultipartUpload rule, and what the emulator
answers a browser's preflight and PUT with."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config as BotoConfig
from starlette.testclient import TestClient

from core.app import create_app
from plugins.local_aws.config import LocalAwsSettings
from plugins.local_aws.service import EXPOSED_HEADERS, bucket_origins, provision

ORIGIN = "http://localhost:3000"


def _s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=BotoConfig(signature_version="s3v4"))


def _settings(**changes: Any) -> LocalAwsSettings:
    tag = uuid.uuid4().hex[:10]
    return LocalAwsSettings(raw_bucket=f"raw-{tag}", processed_bucket=f"processed-{tag}",
                            thumbnails_bucket=f"thumbs-{tag}",
                            user_pool_name=f"pool-{tag}", queue_name=f"events-{tag}", **changes)


def _provisioned(moto_endpoint: str, web_origins: Sequence[str] = (), **changes: Any
                 ) -> LocalAwsSettings:
    """Provisioned as the plugin does, with `web_origins` as `[http] cors_origins`."""
    settings = _settings(**changes)
    provision(settings, moto_endpoint, web_origins=bucket_origins(settings, web_origins))
    return settings


def test_the_buckets_let_browsers_upload_from_any_origin_by_default(moto_endpoint):
    settings = _provisioned(moto_endpoint)
    s3 = _s3(moto_endpoint)
    for bucket in (settings.raw_bucket, settings.thumbnails_bucket, settings.processed_bucket):
        (rule,) = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        assert rule["AllowedOrigins"] == ["*"]
        assert sorted(rule["AllowedMethods"]) == ["GET", "HEAD", "PUT"]
        assert rule["AllowedHeaders"] == ["*"]
        assert rule["ExposeHeaders"] == EXPOSED_HEADERS
        assert {"ETag", "x-amz-checksum-sha256", "x-amz-checksum-crc32c"} <= set(
            rule["ExposeHeaders"])


def test_the_origins_come_from_the_setting_else_the_apis_browser_origins(moto_endpoint):
    s3 = _s3(moto_endpoint)
    own = _provisioned(moto_endpoint, ["http://web.example"], bucket_cors_origins=[ORIGIN])
    assert s3.get_bucket_cors(Bucket=own.raw_bucket)["CORSRules"][0]["AllowedOrigins"] == [
        ORIGIN]
    api = _provisioned(moto_endpoint, ["http://web.example"])
    assert s3.get_bucket_cors(Bucket=api.raw_bucket)["CORSRules"][0]["AllowedOrigins"] == [
        "http://web.example"]


def test_the_app_gives_its_buckets_any_origin_when_none_is_configured(make_config, s3_of):
    tag = uuid.uuid4().hex[:10]
    config = make_config(["video"], plugins={"local_aws": {
        "endpoint_url": s3_of.meta.endpoint_url, "raw_bucket": f"raw-{tag}",
        "thumbnails_bucket": f"thumbs-{tag}", "processed_bucket": f"processed-{tag}"}})
    with TestClient(create_app(config)):
        rule = s3_of.get_bucket_cors(Bucket=f"raw-{tag}")["CORSRules"][0]
    assert rule["AllowedOrigins"] == ["*"]


@pytest.fixture
def db_url(sqlite_url):
    """Provisioning touches no table: one database backend is enough here."""
    return sqlite_url


@pytest.fixture
def s3_of(moto_endpoint):
    return _s3(moto_endpoint)


def test_the_raw_bucket_aborts_incomplete_multipart_uploads(moto_endpoint):
    settings = _provisioned(moto_endpoint, abort_incomplete_multipart_days=3)
    s3 = _s3(moto_endpoint)
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=settings.raw_bucket)["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 3}
    with pytest.raises(s3.exceptions.ClientError) as raised:
        s3.get_bucket_lifecycle_configuration(Bucket=settings.thumbnails_bucket)
    assert raised.value.response["Error"]["Code"] == "NoSuchLifecycleConfiguration"


def test_the_default_rule_is_one_day_and_0_sets_none(moto_endpoint):
    s3 = _s3(moto_endpoint)
    default = _provisioned(moto_endpoint)
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=default.raw_bucket)["Rules"]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    none = _provisioned(moto_endpoint, abort_incomplete_multipart_days=0)
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=none.raw_bucket)


def test_the_emulator_answers_a_browsers_preflight_and_put_from_the_rules(moto_endpoint):
    """Pins what moto's server answers (a browser upload page depends on it): the preflight
    of a presigned PUT gets the rule's methods and headers, and the PUT's answer exposes the
    ETag and the checksum headers."""
    settings = _provisioned(moto_endpoint, bucket_cors_origins=[ORIGIN])
    s3 = _s3(moto_endpoint)
    url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": settings.raw_bucket, "Key": "videos/a/b",
                              "ContentType": "video/mp4"}, ExpiresIn=300, HttpMethod="PUT")
    preflight = httpx.options(url, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type,if-none-match,x-amz-checksum-sha256"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert preflight.headers["access-control-allow-methods"] == "GET, PUT, HEAD"
    assert preflight.headers["access-control-allow-headers"] == "*"
    put = httpx.put(url, content=b"video", headers={"Content-Type": "video/mp4",
                                                     "Origin": ORIGIN})
    assert put.status_code == 200
    assert put.headers["access-control-allow-origin"] == ORIGIN
    exposed = [name.strip() for name in put.headers["access-control-expose-headers"].split(",")]
    assert exposed == EXPOSED_HEADERS
    assert put.headers["etag"]
