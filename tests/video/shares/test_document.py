"""Every share route's answer matches the schema the OpenAPI document publishes for it."""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.video.shares.support import ALICE, SHARED, created, shares_path, video_of


def response_schema(document: dict[str, Any], path: str, method: str, status: str
                    ) -> dict[str, Any]:
    operation = document["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def check(document: dict[str, Any], path: str, method: str, status: str, answer: Any) -> None:
    jsonschema.validate(answer, response_schema(document, path, method, status),
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_the_answers_match_the_document(client):
    document = client.get("/openapi.json").json()
    owner_path = "/api/v1/upload/videos/{video_id}/shares"
    video_id = video_of(client, "UNLISTED")
    share = created(client, video_id, max_views=3)
    check(document, owner_path, "post", "201", share)
    unlimited = created(client, video_of(client, "PRIVATE", "IN_PROGRESS"))
    listed = client.get(shares_path(video_id), **ALICE.request_options()).json()
    check(document, owner_path, "get", "200", listed)
    for link in (share, unlimited):
        opened = client.get(link["url"])
        assert opened.status_code == 200, opened.text
        check(document, f"{SHARED}/{{token}}", "get", "200", opened.json())
    revoked = client.delete(f"{shares_path(video_id)}/{share['id']}", **ALICE.request_options())
    assert revoked.status_code == 204
    check(document, owner_path, "get", "200",
          client.get(shares_path(video_id), **ALICE.request_options()).json())
    schemas = document["components"]["schemas"]
    shared = schemas["SharedVideoOut"]
    assert "share" in shared["required"]
    assert set(schemas["VideoOut"]["properties"]) < set(shared["properties"])
