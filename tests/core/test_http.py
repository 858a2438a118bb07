"""The HTTP foundation: parsing, rendering, problem+json, request ids, access logs,
health and readiness, the origin check, plugin middleware."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

import attrs
import orjson
import pytest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from core.cache import CacheUnavailable, MemoryCache
from core.context import AppContext
from core.deps import optional_actor
from core.errors import NotFound, ValidationFailed
from core.health import ReadinessCheck
from core.http import page_response, raw_json, read_json, respond, structure
from core.plugins import hookimpl
from core.routing import api_route
from core.schema import constrained
from tests.support.stand_ins import StandInUserAuthPlugin

SECRETS = ("SECRETCOOKIE", "SECRETTOKEN", "SECRETQUERY", "SECRETPASSWORD")


class Kind(enum.Enum):
    BOOK = "book"
    FILM = "film"


@attrs.define
class NewThing:
    name: str = constrained(min_length=1, max_length=10, strip=True)
    count: int = constrained(minimum=0)
    kind: Kind = Kind.BOOK
    password: str = ""


@attrs.define
class Thing:
    id: uuid.UUID
    name: str
    kind: Kind
    created_at: dt.datetime


THING_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")
CREATED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


async def create_thing(request: Request) -> Response:
    new = await read_json(request, NewThing)
    await optional_actor(request)
    return respond(Thing(THING_ID, new.name, new.kind, CREATED), status=201)


async def get_thing(request: Request) -> Response:
    raise NotFound(f"No thing {request.path_params['thing_id']}")


async def explode(request: Request) -> Response:
    raise RuntimeError("internal detail that must stay on the server")


async def echo_length(request: Request) -> Response:
    return respond({"length": len(await request.body())})


class ThingsPlugin:
    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        return [
            api_route("/things", create_thing, methods=["POST"], summary="Create", body=NewThing,
                      response=Thing, status=201),
            api_route("/things/{thing_id:int}", get_thing, methods=["GET"], summary="Get",
                      response=Thing, errors=[404]),
            api_route("/explode", explode, methods=["GET"], summary="Fails"),
            api_route("/echo", echo_length, methods=["POST"], summary="Body length"),
        ]


def things_client(make_client, kernel_config, **sections: Any):
    return make_client(kernel_config(**sections), plugins=[ThingsPlugin(), StandInUserAuthPlugin()])


def assert_problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "request_id"} <= set(body)
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body


@pytest.mark.hooks("register_routes")
def test_a_422_lists_every_bad_field_with_its_path_and_message(make_client, kernel_config):
    client = things_client(make_client, kernel_config)
    response = client.post("/things", json={"name": "   ", "count": -1, "kind": "song"})
    body = assert_problem(response, 422)
    messages = {error["field"]: error["message"] for error in body["errors"]}
    assert messages == {
        "name": "must be at least 1 characters",
        "count": "must be at least 0",
        "kind": "must be one of book, film",
    }
    missing = assert_problem(client.post("/things", json={}), 422)
    assert {e["field"] for e in missing["errors"]} == {"name", "count"}
    wrong_type = assert_problem(client.post("/things", json={"name": "a", "count": "3"}), 422)
    assert wrong_type["errors"] == [{"field": "count", "message": "expected int, got '3'"}]
    fraction = assert_problem(client.post("/things", json={"name": "a", "count": 3.5}), 422)
    assert fraction["errors"] == [{"field": "count", "message": "expected int, got 3.5"}]
    boolean = assert_problem(client.post("/things", json={"name": "a", "count": True}), 422)
    assert boolean["errors"] == [{"field": "count", "message": "expected int, got True"}]


@pytest.mark.hooks("register_routes")
def test_an_integer_may_be_written_with_a_zero_fraction(make_client, kernel_config):
    """JSON Schema's "integer" is any number without a fractional part, 3.0 included."""
    client = things_client(make_client, kernel_config)
    response = client.post("/things", json={"name": "a", "count": 3.0, "kind": "book"})
    assert response.status_code < 400, response.text


class Shelf(enum.StrEnum):
    TOP = "top"


class Rank(enum.IntEnum):
    FIRST = 1


@attrs.define
class Placement:
    shelf: Shelf
    rank: Rank


def test_str_and_int_enums_are_validated_not_taken_as_plain_text():
    assert structure({"shelf": "top", "rank": 1}, Placement) == Placement(Shelf.TOP, Rank.FIRST)
    with pytest.raises(ValidationFailed) as refused:
        structure({"shelf": "floor", "rank": 2}, Placement)
    assert refused.value.errors == [
        {"field": "shelf", "message": "must be one of top"},
        {"field": "rank", "message": "must be one of 1"},
    ]


def test_bodies_that_are_not_json_objects_are_422(make_client, kernel_config):
    client = things_client(make_client, kernel_config)
    broken = client.post("/things", content=b"{nope", headers={"content-type": "application/json"})
    assert assert_problem(broken, 422)["errors"][0]["field"] == "(body)"
    assert assert_problem(client.post("/things", json=[1, 2]), 422)["errors"] == [
        {"field": "(body)", "message": "expected a JSON object"}
    ]


def test_json_leaves_through_orjson_with_uuids_datetimes_and_enums(make_client, kernel_config):
    client = things_client(make_client, kernel_config)
    response = client.post("/things", json={"name": " lamp ", "count": 2, "kind": "film"})
    assert response.status_code == 201
    assert response.headers["content-type"] == "application/json"
    assert response.content == orjson.dumps({
        "id": "12345678-1234-5678-1234-567812345678",
        "name": "lamp",
        "kind": "film",
        "created_at": "2026-01-02T03:04:05+00:00",
    })


def test_404_and_405_are_problems(make_client, kernel_config):
    client = things_client(make_client, kernel_config)
    unknown = assert_problem(client.get("/nowhere"), 404)
    assert unknown["detail"] == "No resource at /nowhere"
    raised = assert_problem(client.get("/things/7"), 404)
    assert raised["detail"] == "No thing 7"
    assert raised["instance"] == "/things/7"
    wrong_method = client.delete("/things")
    assert "DELETE is not allowed" in assert_problem(wrong_method, 405)["detail"]
    assert "POST" in wrong_method.headers["allow"]


def test_413_for_declared_and_for_streamed_bodies(make_client, kernel_config):
    client = things_client(make_client, kernel_config, http={"max_body_bytes": 100})
    assert client.post("/echo", content=b"x" * 100).json() == {"length": 100}
    declared = client.post("/echo", content=b"x" * 101)
    assert "exceeds 100 bytes" in assert_problem(declared, 413)["detail"]

    def chunks():
        for _ in range(5):
            yield b"y" * 30

    streamed = client.post("/echo", content=chunks())
    assert "content-length" not in streamed.request.headers
    assert_problem(streamed, 413)


def test_415_unless_the_body_is_json(make_client, kernel_config):
    client = things_client(make_client, kernel_config)
    response = client.post("/things", content=b"name=a", headers={"content-type": "text/plain"})
    assert "application/json" in assert_problem(response, 415)["detail"]


def test_500_is_a_problem_without_the_exception(make_client, kernel_config, log_lines):
    client = things_client(make_client, kernel_config)
    response = client.get("/explode", headers={"x-request-id": "trace-500"})
    body = assert_problem(response, 500)
    assert body["request_id"] == "trace-500"
    assert "internal detail" not in response.text and "RuntimeError" not in response.text
    logged = [line for line in log_lines() if line["logger"] == "itube.errors"]
    assert logged and logged[0]["request_id"] == "trace-500"
    assert "internal detail that must stay on the server" in logged[0]["exc"]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [("abc-123_X.y:z", True), ("has space", False), ("x" * 129, False), ("", False)],
)
def test_request_id_kept_when_sane_and_made_otherwise(make_client, kernel_config, incoming, kept):
    client = things_client(make_client, kernel_config)
    response = client.get("/healthz", headers={"x-request-id": incoming})
    request_id = response.headers["x-request-id"]
    if kept:
        assert request_id == incoming
    else:
        assert request_id != incoming and len(request_id) == 32
        int(request_id, 16)


def test_access_log_lines_carry_the_request_and_never_a_secret(
    make_client, kernel_config, log_lines
):
    client = things_client(make_client, kernel_config, logging={"access_log": True})
    response = client.post(
        "/things?token=SECRETQUERY",
        json={"name": "a", "count": 1, "password": "SECRETPASSWORD"},
        headers={"cookie": "session=SECRETCOOKIE", "authorization": "Bearer SECRETTOKEN",
                 "x-test-user": "alice", "x-request-id": "req-1"},
    )
    assert response.status_code == 201
    client.get("/things/3")
    access = [line for line in log_lines() if line["logger"] == "itube.access"]
    first, second = access
    assert first["method"] == "POST" and first["route"] == "/things"
    assert first["status"] == 201 and first["request_id"] == "req-1"
    assert first["principal"] == "alice"
    assert isinstance(first["duration_ms"], float)
    assert second["route"] == "/things/{thing_id:int}" and second["status"] == 404
    assert second["principal"] is None
    everything = orjson.dumps(log_lines()).decode()
    assert not [secret for secret in SECRETS if secret in everything]


def test_access_log_can_be_switched_off(make_client, kernel_config, log_lines):
    client = things_client(make_client, kernel_config, logging={"access_log": False})
    client.get("/healthz")
    assert not [line for line in log_lines() if line["logger"] == "itube.access"]


def test_healthz_needs_nothing(make_client, kernel_config):
    response = things_client(make_client, kernel_config).get("/healthz")
    assert response.json() == {"status": "ok"}


class FailingCheckPlugin:
    def __init__(self, critical: bool) -> None:
        self.critical = critical

    @hookimpl
    def readiness_checks(self, ctx: AppContext) -> list[ReadinessCheck]:
        async def search_index() -> None:
            raise ConnectionError("search index down")

        return [ReadinessCheck("search-index", search_index, critical=self.critical)]


class UnreachableCache(MemoryCache):
    """A cache whose store does not answer, as a down Redis would."""

    name = "unreachable"

    async def ping(self) -> None:
        raise CacheUnavailable("connection refused")


class UnreachableCachePlugin:
    @hookimpl
    def cache_backend(self, ctx: AppContext) -> UnreachableCache:
        return UnreachableCache()


@pytest.mark.hooks("readiness_checks")
def test_readyz_is_503_naming_the_failing_critical_check(make_client, db_config):
    client = make_client(db_config(), plugins=[FailingCheckPlugin(critical=True)])
    response = client.get("/readyz")
    body = assert_problem(response, 503)
    assert body["detail"] == "Not ready: search-index failing"
    assert body["checks"]["search-index"] == "failing: ConnectionError"
    assert body["checks"]["database"] == "ok"
    assert "search index down" not in response.text


@pytest.mark.hooks("readiness_checks", "cache_backend")
def test_readyz_is_200_degraded_when_only_the_cache_fails(make_client, kernel_config):
    client = make_client(kernel_config(), plugins=[UnreachableCachePlugin()])
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "checks": {"database": "ok", "cache:unreachable": "failing: CacheUnavailable"},
    }
    healthy = make_client(kernel_config(), plugins=[FailingCheckPlugin(critical=False)])
    assert healthy.get("/readyz").json()["status"] == "degraded"


def test_readyz_is_ok_when_everything_answers(make_client, db_config):
    response = make_client(db_config()).get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache:memory": "ok"}}


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"origin": "https://evil.example", "cookie": "session=1"}, 403),
        ({"origin": "null", "cookie": "session=1"}, 403),
        ({"origin": "https://app.example", "cookie": "session=1"}, 200),
        ({"origin": "http://testserver", "cookie": "session=1"}, 200),
        ({"origin": "https://evil.example"}, 200),
        ({"cookie": "session=1"}, 200),
    ],
)
def test_origin_check_guards_cookie_carrying_unsafe_requests(
    make_client, kernel_config, headers, status
):
    client = things_client(make_client, kernel_config,
                           http={"cors_origins": ["https://app.example"]})
    response = client.post("/echo", content=b"{}", headers=headers)
    assert response.status_code == status
    if status == 403:
        assert "is not allowed" in assert_problem(response, 403)["detail"]
    assert client.get("/healthz", headers=headers).status_code == 200


def test_cors_answers_allowed_origins_only(make_client, kernel_config):
    client = things_client(make_client, kernel_config,
                           http={"cors_origins": ["https://app.example"]})
    preflight = {"access-control-request-method": "POST"}
    allowed = client.options("/things", headers={"origin": "https://app.example", **preflight})
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    refused = client.options("/things", headers={"origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers


class StampMiddleware:
    """Adds `X-Stamp` with the request id the kernel assigned (it runs inside the kernel's)."""

    def __init__(self, app: ASGIApp, *, label: str) -> None:
        self.app = app
        self.label = label

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from core.log import request_id_var

        async def stamped(message: Any) -> None:
            if message["type"] == "http.response.start":
                value = f"{self.label}:{request_id_var.get()}".encode()
                message["headers"] = [*message.get("headers", []), (b"x-stamp", value)]
            await send(message)

        await self.app(scope, receive, stamped)


class StampPlugin:
    @hookimpl
    def register_middleware(self, ctx: AppContext) -> list[Middleware]:
        return [Middleware(StampMiddleware, label=ctx.config.server.host)]


@pytest.mark.hooks("register_middleware")
def test_plugin_middleware_runs_inside_the_kernels(make_client, kernel_config):
    client = make_client(kernel_config(), plugins=[StampPlugin()])
    response = client.get("/healthz", headers={"x-request-id": "r-9"})
    assert response.headers["x-stamp"] == "127.0.0.1:r-9"
    assert client.get("/nowhere", headers={"x-request-id": "r-10"}).headers["x-stamp"] == (
        "127.0.0.1:r-10"
    )


@pytest.mark.hooks("register_middleware")
def test_a_route_answers_its_own_problems_inside_plugin_middleware(make_client, kernel_config):
    client = make_client(kernel_config(), plugins=[ThingsPlugin(), StampPlugin()])
    missing = client.get("/things/7", headers={"x-request-id": "r-12"})
    assert_problem(missing, 404)
    assert missing.headers["x-stamp"] == "127.0.0.1:r-12"
    for _ in range(3):  # the same exception class again: nothing kept from the last one
        assert client.post("/things", json={"name": ""}).headers["x-stamp"].startswith(
            "127.0.0.1:")
    failed = client.get("/explode", headers={"x-request-id": "r-13"})
    assert_problem(failed, 500)


@pytest.mark.parametrize("headers", [None, {"Link": '</next>; rel="next"', "ETag": '"3"'}])
@pytest.mark.parametrize("status", [200, 201])
def test_raw_json_writes_what_starlettes_response_writes(headers, status):
    body = b'{"id": 1}'
    ours = raw_json(body, status, headers)
    theirs = Response(body, status_code=status, media_type="application/json", headers=headers)
    assert (ours.status_code, ours.body, ours.raw_headers) == (
        theirs.status_code, theirs.body, theirs.raw_headers)
    assert ours.headers["content-type"] == "application/json"


def _request(path: str) -> Request:
    return Request({"type": "http", "method": "GET", "scheme": "http", "path": path,
                    "root_path": "", "query_string": b"limit=5",
                    "headers": [(b"host", b"api.example:8080")], "server": ("10.0.0.1", 80)})


@pytest.mark.parametrize("path", ["/api/v1/upload/videos/", "/a b/é/x", "/what?/#frag",
                                  "/back\\slash", "/%3F/%2F"])
def test_a_page_links_to_its_next_page_at_the_path_starlette_gives(path):
    request = _request(path)
    answer = page_response(request, b"[]", 5, "CURSOR", [("q", "a&b"), ("sort", "title")])
    assert answer.headers["link"] == (
        f'<{request.url.path}?limit=5&cursor=CURSOR&q=a%26b&sort=title>; rel="next"')
    assert answer.body == b"[]" and answer.media_type == "application/json"


def test_the_last_page_links_nowhere():
    assert "link" not in page_response(_request("/things"), b"[]", 5, None).headers


class RefusingMiddleware:
    """Refuses every request with a problem, before the router sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise NotFound("refused by a middleware")
        await self.app(scope, receive, send)


class RefusingPlugin:
    @hookimpl
    def register_middleware(self, ctx: AppContext) -> list[Middleware]:
        return [Middleware(RefusingMiddleware)]


def test_a_problem_a_middleware_raises_is_answered_as_that_problem(make_client, kernel_config):
    client = make_client(kernel_config(), plugins=[RefusingPlugin()])
    refused = client.get("/healthz", headers={"x-request-id": "r-11"})
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == "refused by a middleware"
    assert refused.headers["x-request-id"] == "r-11"
