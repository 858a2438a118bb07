"""The plugin as the kernel sees it: settings, buckets, routes in the OpenAPI document."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from openapi_spec_validator import validate

from core.app import create_app
from core.errors import ConfigError
from tests.video import workflow
from tests.video.support import insert_video, user


def test_an_unknown_or_mistyped_setting_stops_start_up(make_config):
    with pytest.raises(ConfigError, match="plugins.video"):
        create_app(make_config(["video"], plugins={"video": {"max_video_byte": 1}}))
    with pytest.raises(ConfigError, match="plugins.video.public_discovery"):
        create_app(make_config(["video"], plugins={"video": {"public_discovery": "maybe"}}))
    with pytest.raises(ConfigError, match="playback_url_ttl_seconds"):
        create_app(make_config(["video"], plugins={"video": {"playback_url_ttl_seconds": 10}}))


def test_configured_buckets_and_a_public_base_url_are_used(make_video_client, s3):
    s3.create_bucket(Bucket="custom-raw")
    client = make_video_client({
        "raw_bucket": "custom-raw",
        "playback_base_url": "https://cdn.example.com/v/",
        "thumbnail_base_url": "https://cdn.example.com/t",
        "playback_key_template": "{key}/index.m3u8",
    })
    answer = workflow.request_upload_url(client, user("alice")).json()
    assert unquote(urlsplit(answer["url"]).path).startswith("/custom-raw/videos/alice/")
    video_id = insert_video(client, owner_id="dana x", video_s3_key="videos/dana x/k",
                            thumbnail_s3_key="thumbnails/dana x/t")
    seen = workflow.get_video(client, workflow.ANONYMOUS, video_id).json()
    assert seen["playback_url"] == "https://cdn.example.com/v/videos/dana%20x/k/index.m3u8"
    assert seen["thumbnail_url"] == "https://cdn.example.com/t/thumbnails/dana%20x/t"


def test_presigned_playback_urls_expire_as_configured(make_video_client):
    client = make_video_client({"playback_url_ttl_seconds": 120,
                                "media_url_window_seconds": 30})
    video_id = insert_video(client)
    url = workflow.get_video(client, workflow.ANONYMOUS, video_id).json()["playback_url"]
    assert "X-Amz-Expires=150" in url  # the ttl from the end of the signing window
    assert unquote(urlsplit(url).path).startswith("/itube-processed-videos/videos/alice/")


def test_the_routes_are_documented_with_their_auth(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]
    prefix = "/api/v1/upload/videos"
    expected = {
        (f"{prefix}/upload-url", "post"): [{"user": []}],
        (f"{prefix}/thumbnail/upload-url", "post"): [{"user": []}],
        (f"{prefix}/metadata", "post"): [{"user": []}],
        (f"{prefix}/", "get"): [{}, {"user": []}],
        (f"{prefix}/mine", "get"): [{"user": []}],
        ("/api/v1/users/{user_id}/videos", "get"): [{}, {"user": []}],
        (f"{prefix}/{{video_id}}", "get"): [{}, {"user": []}],
        (f"{prefix}/by-key/{{s3_key}}", "get"): [{"service_test-header": []}],
        (f"{prefix}/{{video_id}}/status", "patch"): [{"service_test-header": []}],
    }
    for (path, method), security in expected.items():
        assert paths[path][method]["security"] == security, (path, method)
    validate(document)
    listing = paths[f"{prefix}/"]["get"]
    assert "Link" in listing["responses"]["200"]["headers"]
    assert {param["name"] for param in listing["parameters"]} == {
        "limit", "cursor", "sort", "created_after", "created_before", "user_id", "q"}



def test_the_status_body_is_optional_and_the_metadata_body_required(client):
    paths = client.get("/openapi.json").json()["paths"]
    prefix = "/api/v1/upload/videos"
    assert paths[f"{prefix}/{{video_id}}/status"]["patch"]["requestBody"]["required"] is False
    assert paths[f"{prefix}/metadata"]["post"]["requestBody"]["required"] is True


@pytest.mark.parametrize("template", ["{key}/{bogus}", "{0}", "{key", "{key}{", "{key}}",
                                      "{key!r}"])
def test_a_playback_key_template_it_cannot_fill_stops_start_up(make_config, template):
    """Each of these once started, then answered 500 for every completed video."""
    config = make_config(["video"], plugins={"video": {"playback_key_template": template}})
    with pytest.raises(ConfigError, match="plugins.video.playback_key_template"):
        create_app(config)


def _operation(document, path, method):
    return document["paths"][f"/api/v1/upload/videos{path}"][method]


def test_the_upload_url_bodies_are_optional_as_the_routes_accept_none(client):
    document = client.get("/openapi.json").json()
    for path in ("/upload-url", "/thumbnail/upload-url"):
        assert _operation(document, path, "post")["requestBody"]["required"] is False
        bare = client.post(f"/api/v1/upload/videos{path}", **user("alice").request_options())
        assert bare.status_code == 200, bare.text


def test_the_upload_url_bodies_publish_the_configured_types_and_limits(make_video_client):
    client = make_video_client({"allowed_video_types": ["video/MP4", "video/webm"],
                                "max_video_bytes": 1000, "max_thumbnail_bytes": 10})
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    published = {}
    for path, limit in (("/upload-url", 1000), ("/thumbnail/upload-url", 10)):
        body = _operation(document, path, "post")["requestBody"]["content"]["application/json"]
        schema = schemas[body["schema"]["$ref"].rsplit("/", 1)[1]]["properties"]
        assert schema["size_bytes"]["maximum"] == limit
        published[path] = schema["content_type"]["enum"]
    assert published["/upload-url"] == ["video/mp4", "video/webm", None]
    assert published["/thumbnail/upload-url"] == ["image/jpeg", "image/png", "image/webp", None]
    alice = user("alice").request_options()
    for content_type, size, status in (("video/webm", 1000, 200), ("VIDEO/WEBM", 1, 422),
                                       ("video/webm", 1001, 422), ("image/png", 1, 422)):
        answer = client.post("/api/v1/upload/videos/upload-url", **alice,
                             json={"content_type": content_type, "size_bytes": size})
        assert answer.status_code == status, (content_type, size, answer.text)


def test_the_cursor_schema_publishes_the_format_the_server_parses(client):
    document = client.get("/openapi.json").json()
    for path in ("/", "/mine"):
        params = {param["name"]: param for param in _operation(document, path, "get")["parameters"]}
        schema = params["cursor"]["schema"]
        assert (schema["type"], schema["pattern"], schema["maxLength"]) == (
            "string", "^[A-Za-z0-9_-]*$", 1200)
        assert (params["limit"]["schema"]["minimum"], params["limit"]["schema"]["maximum"]) == (
            1, 100)


DECLARED_ERRORS = {
    ("/upload-url", "post"): {401, 403, 413, 415, 422, 503},
    ("/thumbnail/upload-url", "post"): {401, 403, 413, 415, 422, 503},
    ("/metadata", "post"): {401, 403, 409, 413, 415, 422, 503},
    ("/", "get"): {422, 503},
    ("/mine", "get"): {401, 422, 503},
    ("/{video_id}", "get"): {404, 503},
    ("/by-key/{s3_key}", "get"): {401, 403, 404, 503},
    ("/{video_id}/status", "patch"): {401, 403, 404, 409, 413, 415, 422, 503},
}


def test_every_route_declares_the_errors_it_can_answer(client):
    document = client.get("/openapi.json").json()
    for (path, method), errors in DECLARED_ERRORS.items():
        declared = {int(status) for status in _operation(document, path, method)["responses"]
                    if int(status) >= 400}
        assert declared >= errors, (path, method, errors - declared)


def test_a_video_is_read_through_the_first_route_of_its_path(client):
    # A request tries the routes of its path in turn: the read every visitor makes must not
    # first pass the edit and delete routes of the same path, a conversion each.
    path = f"{workflow.PREFIX}/0b7f7c8e-6a57-4bd7-a4e6-7e8b9a6e2a11"
    routes = [route for route in client.app.router.routes
              if getattr(route, "path_regex", None) is not None and route.path_regex.match(path)]
    assert len(routes) >= 3
    assert routes[0].methods == {"GET", "HEAD"}
