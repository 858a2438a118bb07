"""The kernel's share of "the document matches the server", one direct test per mismatch the
fuzzer found or could find: what a query integer is, what a published `pattern` means, and
the headers the document promises on 401, 429 and 503 answers. In-process and fast; the
fuzz passes (test_fuzz_api.py) check the same promises against a real server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import jsonschema
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from core.config import config_from_dict
from core.context import AppContext
from core.errors import ServiceUnavailable, TooManyRequests
from core.http import query_int, read_json, respond
from core.plugins import hookimpl
from core.routing import Param, api_route
from core.schema import constrained
from tests.support.stand_ins import StandInServiceAuthPlugin


@attrs.define
class Code:
    code: str = constrained(pattern="[0-9]{4,10}")
    note: str = ""


async def page(request: Request) -> Response:
    return respond({"limit": query_int(request, "limit", 20, minimum=1, maximum=100)})


async def confirm(request: Request) -> Response:
    return respond(await read_json(request, Code))


async def busy(request: Request) -> Response:
    raise TooManyRequests("Slow down", retry_after=7)


async def down(request: Request) -> Response:
    raise ServiceUnavailable("The database does not answer", retry_after=3)


async def internal(request: Request) -> Response:
    return respond({"ok": True})


class KernelRoutesPlugin:
    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        limit = Param("limit", type=int, schema={"minimum": 1, "maximum": 100})
        return [
            api_route("/page", page, methods=["GET"], summary="A page", params=[limit],
                      errors=[422]),
            api_route("/confirm", confirm, methods=["POST"], summary="Confirm", body=Code),
            api_route("/busy", busy, methods=["GET"], summary="Rate limited", errors=[429]),
            api_route("/down", down, methods=["GET"], summary="Unavailable", errors=[503]),
            api_route("/internal", internal, methods=["GET"], summary="Internal",
                      auth="service"),
        ]


@pytest.fixture
def client(make_client: Callable[..., TestClient], sqlite_url: str) -> TestClient:
    config = config_from_dict({
        "app": {"plugins": []},
        "database": {"url": sqlite_url, "migrate_on_start": True},
        "logging": {"access_log": False},
        "server": {"freeze_heap_after_startup": False},
    }, source="<test>", environ={})
    return make_client(config, plugins=[KernelRoutesPlugin(), StandInServiceAuthPlugin()])


def refused_field(response: Any) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    [error] = response.json()["errors"]
    return error["field"]


def test_an_absent_limit_is_the_default_and_a_plain_integer_is_read(client: TestClient):
    assert client.get("/page").json() == {"limit": 20}
    assert client.get("/page?limit=7").json() == {"limit": 7}
    assert client.get("/page?limit=100").json() == {"limit": 100}


@pytest.mark.parametrize("query", [
    "limit=",  # empty: the document says an integer 1-100, not "absent"
    "limit=%20",
    "limit=%205",  # int() would strip the spaces
    "limit=1_0",  # int() reads 10
    "limit=%2B5",  # +5
    "limit=%EF%BC%95",  # a fullwidth digit five, which int() reads as 5
    "limit=5.0",
    "limit=abc",
    "limit=5&limit=6",  # which one? a proxy and the app may read different ones
])
def test_a_limit_that_is_not_one_plain_integer_is_a_422_naming_it(client: TestClient, query):
    assert refused_field(client.get(f"/page?{query}")) == "limit"


@pytest.mark.parametrize("value", ["0", "101", "-1", "9" * 30, "-" + "9" * 30])
def test_a_limit_out_of_bounds_is_a_422_saying_the_bounds(client: TestClient, value: str):
    response = client.get(f"/page?limit={value}")
    assert refused_field(response) == "limit"
    assert response.json()["errors"][0]["message"] == "must be between 1 and 100"


SAMPLES = [
    {"code": "1234"}, {"code": "0123456789"}, {"code": "123"}, {"code": "12345678901"},
    {"code": "code 1234"}, {"code": "1234 "}, {"code": "x1234x"}, {"code": "12a34"},
    {"code": "1234", "note": "fine"}, {"code": "1234", "note": "nul\x00inside"},
    {"code": "1234", "note": "\x00"},
]


@pytest.mark.parametrize("sample", SAMPLES, ids=repr)
def test_the_published_body_schema_accepts_exactly_what_the_server_accepts(
    client: TestClient, sample: dict[str, str]
):
    document = client.get("/openapi.json").json()
    schema = {**document["components"]["schemas"]["Code"], "components": document["components"]}
    document_accepts = jsonschema.Draft202012Validator(schema).is_valid(sample)
    response = client.post("/confirm", json=sample)
    assert response.status_code in (200, 422), response.text
    assert document_accepts == (response.status_code == 200)


def header_schemas(document: dict[str, Any], path: str, status: str) -> dict[str, Any]:
    return document["paths"][path]["get"]["responses"][status].get("headers", {})


@pytest.mark.parametrize(("path", "status"), [("/busy", 429), ("/down", 503)])
def test_retry_after_is_promised_and_sent_as_whole_seconds(client: TestClient, path, status):
    declared = header_schemas(client.get("/openapi.json").json(), path, str(status))
    assert declared["Retry-After"]["required"] is True
    response = client.get(path)
    assert response.status_code == status
    jsonschema.validate(int(response.headers["retry-after"]), declared["Retry-After"]["schema"])


def test_a_service_routes_401_promises_and_sends_a_challenge(client: TestClient):
    declared = header_schemas(client.get("/openapi.json").json(), "/internal", "401")
    assert declared["WWW-Authenticate"]["required"] is True
    response = client.get("/internal")
    assert response.status_code == 401
    assert response.headers["www-authenticate"]
