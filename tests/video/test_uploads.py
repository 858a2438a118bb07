"""Presigned upload URLs: the key, the signed policy, the limits, real uploads to S3."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from tests.video import workflow
from tests.video.support import user

ALICE = user("alice")


@pytest.fixture
def db_url(sqlite_url):
    """Upload URLs touch no table: one database backend is enough here."""
    return sqlite_url


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_video_upload_url_is_a_presigned_put_bound_to_the_content_type_and_written_once(
    client,
):
    before = dt.datetime.now(dt.UTC)
    response = workflow.request_upload_url(client, ALICE, content_type="video/webm")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["method"] == "PUT"
    assert answer["headers"] == {"Content-Type": "video/webm", "If-None-Match": "*"}
    prefix, owner, rest = answer["media_id"].split("/")
    assert (prefix, owner) == ("videos", "alice") and uuid.UUID(rest).version == 4
    url = urlsplit(answer["url"])
    assert unquote(url.path) == f"/itube-raw-videos/{answer['media_id']}"
    query = _query(answer["url"])
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "900"
    assert query["X-Amz-Credential"].endswith("/us-east-1/s3/aws4_request")
    assert query["X-Amz-SignedHeaders"].split(";") == ["content-type", "host", "if-none-match"]
    assert not any("acl" in name.lower() for name in query)
    expires_at = dt.datetime.fromisoformat(answer["expires_at"])
    assert dt.timedelta(seconds=895) < expires_at - before < dt.timedelta(seconds=905)


def test_a_declared_size_is_signed_too(client):
    answer = workflow.request_upload_url(client, ALICE, size_bytes=1234).json()
    assert _query(answer["url"])["X-Amz-SignedHeaders"] == (
        "content-length;content-type;host;if-none-match")
    assert answer["headers"] == {"Content-Type": "video/mp4", "Content-Length": "1234",
                                 "If-None-Match": "*"}


def test_no_body_means_the_first_allowed_type(client):
    answer = workflow.request_upload_url(client, ALICE).json()
    assert answer["headers"]["Content-Type"] == "video/mp4"


def test_the_expiry_comes_from_config(make_video_client):
    client = make_video_client({"upload_url_ttl_seconds": 60, "cache_ttl_seconds": 30})
    answer = workflow.request_upload_url(client, ALICE).json()
    assert _query(answer["url"])["X-Amz-Expires"] == "60"


def test_uploaded_bytes_land_in_the_raw_bucket(client, s3):
    content = b"a small video" * 100
    key = workflow.upload(client, ALICE, content)
    stored = s3.get_object(Bucket="itube-raw-videos", Key=key)
    assert stored["Body"].read() == content
    assert stored["ContentType"] == "video/mp4"


def test_thumbnail_upload_goes_to_the_thumbnails_bucket(client, s3):
    key = workflow.upload(client, ALICE, b"\x89PNG fake", thumbnail=True, content_type="image/png")
    assert key.startswith("thumbnails/alice/")
    assert s3.get_object(Bucket="itube-video-thumbnails", Key=key)["Body"].read() == b"\x89PNG fake"


@pytest.mark.parametrize(("thumbnail", "content_type", "bucket"), [
    (False, "video/mp4", "itube-raw-videos"),
    (True, "image/png", "itube-video-thumbnails"),
])
def test_an_upload_url_writes_its_key_once(client, s3, thumbnail, content_type, bucket):
    answer = workflow.request_upload_url(client, ALICE, thumbnail=thumbnail,
                                         content_type=content_type).json()
    assert workflow.put_file(answer, b"the checked upload").status_code == 200
    again = workflow.put_file(answer, b"swapped afterwards")
    assert again.status_code == 412, again.text
    stored = s3.get_object(Bucket=bucket, Key=answer["media_id"])["Body"].read()
    assert stored == b"the checked upload"


def test_a_registered_video_cannot_be_swapped_through_its_upload_url(client, s3):
    answer = workflow.request_upload_url(client, ALICE, size_bytes=len(b"original")).json()
    assert workflow.put_file(answer, b"original").status_code == 200
    created = workflow.register(client, ALICE, answer["media_id"])
    assert created.status_code == 201, created.text
    assert workflow.put_file(answer, b"evil1234").status_code == 412
    stored = s3.get_object(Bucket="itube-raw-videos", Key=answer["media_id"])
    assert stored["Body"].read() == b"original"


REJECTED = [
    (False, {"content_type": "image/png"}, "content_type"),
    (False, {"content_type": "application/x-sh"}, "content_type"),
    (True, {"content_type": "video/mp4"}, "content_type"),
    (True, {"content_type": "image/gif"}, "content_type"),
    (False, {"size_bytes": 5 * 1024**3 + 1}, "size_bytes"),
    (True, {"size_bytes": 10 * 1024**2 + 1}, "size_bytes"),
    (False, {"size_bytes": 0}, "size_bytes"),
    (False, {"size_bytes": "12"}, "size_bytes"),
    (False, {"content_type": 7}, "content_type"),
]


def test_rejected_requests_name_the_field(client):
    for thumbnail, body, field in REJECTED:
        response = workflow.request_upload_url(client, ALICE, thumbnail=thumbnail, **body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in response.json()["errors"]] == [field], body
    # At the limits exactly, both are fine.
    assert workflow.request_upload_url(client, ALICE, size_bytes=5 * 1024**3).status_code == 200
    assert workflow.request_upload_url(client, ALICE, thumbnail=True, content_type="image/webp",
                                       size_bytes=10 * 1024**2).status_code == 200


def test_allowed_types_and_limits_come_from_config(make_video_client):
    client = make_video_client({"allowed_video_types": ["video/ogg"], "max_video_bytes": 100})
    assert workflow.request_upload_url(client, ALICE, content_type="video/mp4").status_code == 422
    assert workflow.request_upload_url(client, ALICE, size_bytes=101).status_code == 422
    ok = workflow.request_upload_url(client, ALICE, content_type="video/ogg", size_bytes=100)
    assert ok.status_code == 200, ok.text


def test_a_body_must_be_json(client):
    response = client.post("/api/v1/upload/videos/upload-url", content=b"content_type=x",
                           headers={**ALICE.headers, "Content-Type": "text/plain"})
    assert response.status_code == 415


def test_upload_urls_need_a_signed_in_user(client):
    for path in ("/api/v1/upload/videos/upload-url", "/api/v1/upload/videos/thumbnail/upload-url"):
        response = client.post(path)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"


def test_a_browser_at_an_allowed_origin_may_upload_to_the_embedded_aws(make_video_client):
    """local_aws gives its buckets CORS for `[http] cors_origins`, so a web client at such
    an origin can PUT to the presigned URL with the headers the API returned."""
    client = make_video_client(http={"cors_origins": ["http://app.example"]})
    answer = workflow.request_upload_url(client, ALICE).json()

    def preflight(origin: str) -> httpx.Response:
        return httpx.options(answer["url"], timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "content-type,if-none-match"})

    allowed = preflight("http://app.example")
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == "http://app.example"
    assert "PUT" in allowed.headers["access-control-allow-methods"]
    assert preflight("http://evil.example").status_code == 403
