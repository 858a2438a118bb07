"""The video workflow over HTTP, step by step, under any auth provider.

Each function takes a client (a Starlette `TestClient` or an `httpx.Client` pointed at a
running server) and `Credentials` saying how the request proves who sends it: fixed
headers (the test stand-ins), cookies (a user session) or an `httpx.Auth` that signs each
request (SigV4). Uploads go to the presigned S3 URL over real HTTP.

    run_workflow(client, user=Credentials(headers={"X-Test-User": "alice"}),
                 service=Credentials(headers={"X-Test-Service": "transcoder"}))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import quote

import attrs
import httpx

PREFIX = "/api/v1/upload/videos"
SAMPLE_VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8
EDITED_DESCRIPTION = "Edited on the way"


@attrs.frozen
class Credentials:
    """How one request authenticates: headers, cookies and/or a signing `httpx.Auth`."""

    headers: Mapping[str, str] = attrs.Factory(dict)
    cookies: Mapping[str, str] = attrs.Factory(dict)
    auth: httpx.Auth | None = None

    def request_options(self, extra_headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        headers = {**self.headers, **(extra_headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        options: dict[str, Any] = {"headers": headers}
        if self.auth is not None:
            options["auth"] = self.auth
        return options


ANONYMOUS = Credentials()


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: " \
        f"expected {status}, got {response.status_code}: {response.text}"
    return response


def request_upload_url(
    client: Any, user: Credentials, *, thumbnail: bool = False, **body: Any
) -> httpx.Response:
    """POST upload-url (or thumbnail/upload-url) with an optional JSON body."""
    path = f"{PREFIX}/thumbnail/upload-url" if thumbnail else f"{PREFIX}/upload-url"
    if body:
        return client.post(path, json=body, **user.request_options())
    return client.post(path, **user.request_options())


def put_file(upload: Mapping[str, Any], content: bytes) -> httpx.Response:
    """Send `content` to a presigned URL exactly as a browser would (real HTTP)."""
    headers = {k: v for k, v in upload["headers"].items() if k.lower() != "content-length"}
    return httpx.request(upload["method"], upload["url"], content=content, headers=headers,
                         timeout=10)


def upload(
    client: Any, user: Credentials, content: bytes = SAMPLE_VIDEO, *, thumbnail: bool = False,
    content_type: str | None = None,
) -> str:
    """Presign, then PUT the bytes; returns the S3 key (`media_id`)."""
    body: dict[str, Any] = {"size_bytes": len(content)}
    if content_type:
        body["content_type"] = content_type
    answer = _expect(request_upload_url(client, user, thumbnail=thumbnail, **body), 200).json()
    _expect(put_file(answer, content), 200)
    return answer["media_id"]


def register(
    client: Any, user: Credentials, video_key: str, *, title: str = "A video",
    visibility: str = "PUBLIC", description: str = "", thumbnail_key: str | None = None,
) -> httpx.Response:
    """POST metadata for an uploaded key."""
    body: dict[str, Any] = {"title": title, "description": description,
                            "video_s3_key": video_key, "visibility": visibility}
    if thumbnail_key is not None:
        body["thumbnail_s3_key"] = thumbnail_key
    return client.post(f"{PREFIX}/metadata", json=body, **user.request_options())


def by_key_path(key: str, *, encode_slashes: bool = False) -> str:
    return f"{PREFIX}/by-key/{quote(key, safe='' if encode_slashes else '/')}"


def find_by_key(
    client: Any, service: Credentials, key: str, *, encode_slashes: bool = False
) -> httpx.Response:
    return client.get(by_key_path(key, encode_slashes=encode_slashes),
                      **service.request_options())


def set_status(
    client: Any, service: Credentials, video_id: str, status: str, *,
    form: Literal["query", "json"] = "query", **fields: Any,
) -> httpx.Response:
    """PATCH the status in the seed's query form or as JSON (with optional fields)."""
    path = f"{PREFIX}/{video_id}/status"
    if form == "query":
        return client.patch(path, params={"status": status}, **service.request_options())
    return client.patch(path, json={"status": status, **fields}, **service.request_options())


def get_video(client: Any, viewer: Credentials, video_id: str) -> httpx.Response:
    return client.get(f"{PREFIX}/{video_id}", **viewer.request_options())


def edit_video(
    client: Any, user: Credentials, video_id: str, *, if_match: str | None = None, **fields: Any
) -> httpx.Response:
    """PATCH the video's fields, with `If-Match` when given."""
    headers = {"If-Match": if_match} if if_match is not None else None
    return client.patch(f"{PREFIX}/{video_id}", json=fields, **user.request_options(headers))


def history(client: Any, user: Credentials, video_id: str, **params: Any) -> httpx.Response:
    return client.get(f"{PREFIX}/{video_id}/history", params=params, **user.request_options())


def retry(client: Any, user: Credentials, video_id: str) -> httpx.Response:
    return client.post(f"{PREFIX}/{video_id}/retry", **user.request_options())


def delete_video(client: Any, user: Credentials, video_id: str) -> httpx.Response:
    return client.delete(f"{PREFIX}/{video_id}", **user.request_options())


def list_public(client: Any, viewer: Credentials, **params: Any) -> httpx.Response:
    return client.get(f"{PREFIX}/", params=params, **viewer.request_options())


def list_mine(client: Any, user: Credentials, **params: Any) -> httpx.Response:
    return client.get(f"{PREFIX}/mine", params=params, **user.request_options())


def run_workflow(
    client: Any, user: Credentials, service: Credentials, *, viewer: Credentials = ANONYMOUS,
    form: Literal["query", "json"] = "query", content: bytes = SAMPLE_VIDEO,
) -> dict[str, Any]:
    """Upload, register, look up by key, edit, complete, find it listed and searched for,
    open it, read its history. Returns the video as `viewer` sees it at the end."""
    key = upload(client, user, content)
    registered = _expect(register(client, user, key, title="End to end"), 201)
    created = registered.json()
    assert created["processing_status"] == "IN_PROGRESS"
    assert created["video_s3_key"] == key and created["playback_url"] is None
    video_id = _expect(find_by_key(client, service, key), 200).json()["video_id"]
    assert video_id == created["id"]
    edited = _expect(edit_video(client, user, video_id, if_match=registered.headers["etag"],
                                description=EDITED_DESCRIPTION), 200)
    assert edited.json()["description"] == EDITED_DESCRIPTION
    assert edited.headers["etag"] != registered.headers["etag"]
    # Not discoverable before it is processed.
    _expect(get_video(client, viewer, video_id), 404)
    completed = _expect(
        set_status(client, service, video_id, "COMPLETED", form=form), 200
    ).json()
    assert completed["processing_status"] == "COMPLETED"
    listed = _expect(list_public(client, viewer), 200).json()
    assert video_id in [video["id"] for video in listed]
    found = _expect(list_public(client, viewer, q=EDITED_DESCRIPTION), 200).json()
    assert video_id in [video["id"] for video in found]
    seen = _expect(get_video(client, viewer, video_id), 200).json()
    assert seen["processing_status"] == "COMPLETED" and seen["playback_url"]
    assert seen["user_id"] == created["user_id"]
    assert seen["description"] == EDITED_DESCRIPTION
    transitions = _expect(history(client, user, video_id), 200).json()
    assert [(row["from_status"], row["to_status"]) for row in transitions] == [
        (None, "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")]
    return seen


def delete_and_forget(
    client: Any, user: Credentials, service: Credentials, video: Mapping[str, Any], *,
    viewer: Credentials = ANONYMOUS,
) -> None:
    """The owner deletes the video: 204, then no read knows it and its key is refused."""
    video_id, key = video["id"], video["video_s3_key"]
    _expect(delete_video(client, user, video_id), 204)
    _expect(get_video(client, viewer, video_id), 404)
    assert video_id not in [v["id"] for v in _expect(list_public(client, viewer), 200).json()]
    assert video_id not in [v["id"] for v in _expect(list_mine(client, user), 200).json()]
    _expect(find_by_key(client, service, key), 404)
    _expect(register(client, user, key), 409)
