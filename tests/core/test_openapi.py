"""The OpenAPI 3.1 document and the docs pages, which must work offline."""

from __future__ import annotations

import re
from typing import Any

import attrs
import pytest
from openapi_spec_validator import validate
from starlette.requests import Request
from starlette.responses import Response

from core.context import AppContext
from core.http import respond
from core.plugins import hookimpl
from core.routing import Param, api_route
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin

EXAMPLE = "tests.core.example_plugin"


@attrs.define
class Job:
    id: str
    done: bool = False


async def get_job(request: Request) -> Response:
    # No check here: `auth="service"` on the route makes it before this runs.
    return respond(Job(id=str(request.path_params["job_id"])))


class JobsPlugin:
    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        return [api_route("/internal/jobs/{job_id:uuid}", get_job, methods=["GET"],
                          summary="A job", response=Job, auth="service", errors=[404],
                          params=[Param("verbose", type=bool, description="More detail")])]


@pytest.fixture
def client(make_client, kernel_config):
    return make_client(kernel_config([EXAMPLE]), plugins=[
        StandInUserAuthPlugin(), StandInServiceAuthPlugin(), JobsPlugin(),
    ])


def test_the_document_is_valid_openapi_3_1(client):
    document = client.get("/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_operations_carry_bodies_responses_parameters_auth_and_errors(client):
    document = client.get("/openapi.json").json()
    paths, schemas = document["paths"], document["components"]["schemas"]

    sign = paths["/api/v1/guestbook"]["post"]
    assert sign["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewEntry"}
    assert schemas["NewEntry"]["properties"]["text"] == {
        "type": "string", "not": {"pattern": "\\x00"}, "minLength": 1, "maxLength": 280}
    assert schemas["NewEntry"]["required"] == ["text"]
    assert sign["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Entry"}
    assert schemas["Entry"]["properties"]["created_at"] == {"type": "string",
                                                           "format": "date-time"}
    assert sign["security"] == [{"user": []}]
    assert set(sign["responses"]) == {"201", "401", "413", "415", "422"}
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert sign["responses"]["422"]["content"] == problem

    listing = paths["/api/v1/guestbook"]["get"]
    assert listing["security"] == [] and "requestBody" not in listing
    assert schemas["Listing"]["properties"]["entries"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Entry"}}

    one = paths["/api/v1/guestbook/{entry_id}"]["get"]
    assert one["parameters"] == [{"name": "entry_id", "in": "path", "required": True,
                                  "schema": {"type": "integer"},
                                  "description": "The entry's number"}]
    assert "404" in one["responses"]

    job = paths["/internal/jobs/{job_id}"]["get"]
    assert job["security"] == [{"service_test-header": []}]
    assert job["parameters"] == [
        {"name": "job_id", "in": "path", "required": True,
         "schema": {"type": "string", "format": "uuid"}},
        {"name": "verbose", "in": "query", "required": False, "schema": {"type": "boolean"},
         "description": "More detail"},
    ]
    assert set(job["responses"]) == {"200", "401", "403", "404"}
    assert document["components"]["securitySchemes"] == {
        "user": {"type": "apiKey", "in": "cookie", "name": "access_token"},
        "service_test-header": {"type": "apiKey", "in": "header", "name": "X-Test-Service"},
    }


def test_operation_ids_are_unique(client):
    document = client.get("/openapi.json").json()
    ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    assert {"get_entry", "delete_entry", "sign_guestbook", "healthz"} <= set(ids)


def test_kernel_routes_are_documented_but_the_docs_pages_are_not(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/-/plugins"} <= set(paths)
    assert not {"/docs", "/redoc", "/openapi.json"} & set(paths)
    assert "503" in paths["/readyz"]["get"]["responses"]


def test_declared_auth_is_enforced_too(client):
    assert client.get("/internal/jobs/6f1c5f5e-9d1b-4a8e-b2c1-3c3f1c2a4b5d").status_code == 401
    allowed = client.get("/internal/jobs/6f1c5f5e-9d1b-4a8e-b2c1-3c3f1c2a4b5d",
                         headers={"x-test-service": "transcoder"})
    assert allowed.json() == {"id": "6f1c5f5e-9d1b-4a8e-b2c1-3c3f1c2a4b5d", "done": False}


ASSET = re.compile(r'(?:href|src)="([^"]+)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_serve_every_asset_they_reference(client, page):
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(response.text)
    assert assets, "the page references no assets"
    for url in assets:
        assert url.startswith("/"), f"{url} would be fetched from another host"
        fetched = client.get(url)
        assert fetched.status_code == 200, url
        assert len(fetched.content) > 1000, url
    assert "/openapi.json" in response.text


def test_a_model_may_state_a_rule_across_its_fields():
    from core.schema.json_schema import json_schema

    @attrs.define
    class Either:
        left: int | None = None
        right: int | None = None
        __json_schema__ = {"not": {"required": ["left", "right"]}}

    components: dict[str, Any] = {}
    json_schema(Either, components)
    assert components["Either"]["not"] == {"required": ["left", "right"]}
    assert set(components["Either"]["properties"]) == {"left", "right"}
