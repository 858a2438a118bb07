"""The indexed router picks what Starlette's own router picks: the same route, path
parameters, 405, slash redirect or 404, for every route of the assembled apps and for
paths chosen to trip an index up, asked once, again (a match it keeps) and a third time
(a match it kept)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Host, Mount, Route, Router, WebSocketRoute

from core.app import create_app
from core.config import config_from_dict, load_config
from core.router import KEPT_PATH_MOST, MATCHES_KEPT, IndexedRouter, RouteIndex

REPO = Path(__file__).resolve().parents[2]
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAMPLES = {"": "abc", ":str": "abc", ":path": "a/b/c.mp4", ":int": "7", ":float": "1.5",
           ":uuid": "0b6e2f8a-9c1d-4e57-a3f2-5d8c7b1e4f60",
           ":uuid_text": "0B6E2F8A-9C1D-4E57-A3F2-5D8C7B1E4F60"}
# A match is made twice, kept the second time, then served from what was kept.
ASKED = ("once", "again", "kept")
PARAMETER = re.compile(r"\{[a-zA-Z_][a-zA-Z0-9_]*(:[a-zA-Z_]+)?\}")
TRICKY = [
    "", "/", "//", "/nope", "/nope/", "/nope/deeper/still", "/healthz/", "//healthz",
    "/healthz\n", "/HEALTHZ", "/docs/assets", "/docs/assets/", "/docs/assets/a/b.js",
    "/api", "/api/", "/api/v1", "/api/v1/upload/videos", "/api/v1/upload/videos/",
    "/api/v1/upload/videos//", "/api/v1/upload/videos/mine", "/api/v1/upload/videos/mine/",
    "/api/v1/upload/videos/upload-url", "/api/v1/upload/videos/metadata/",
    "/api/v1/upload/videos/not-a-uuid", "/api/v1/upload/videos/not-a-uuid/status",
    f"/api/v1/upload/videos/{SAMPLES[':uuid']}/", f"/api/v1/upload/videos/{SAMPLES[':uuid']}/x",
    "/api/v1/upload/videos/by-key/", "/api/v1/upload/videos/by-key/mine",
    "/api/v1/upload/videos/by-key/a/b/", "/api/v1/auth", "/api/v1/auth/me/", "/api/v1/auth/x",
]


def default_app(tmp_path: Path) -> Starlette:
    environ = {"ITUBE__DATABASE__URL": f"sqlite:///{tmp_path}/default.db"}
    return create_app(load_config(REPO / "config" / "default.toml", environ=environ))


def other_plugins_app(tmp_path: Path) -> Starlette:
    token = {"keys": {"transcoder": "t" * 40}, "allowed_principals": ["transcoder"],
             "expected_hosts": ["testserver"]}
    return create_app(config_from_dict({
        "app": {"plugins": ["local_aws", "auth_local", "internal_token", "cache_redis",
                            "video"]},
        "database": {"url": f"sqlite:///{tmp_path}/other.db"},
        "server": {"freeze_heap_after_startup": False},
        "plugins": {"internal_token": token},
    }, source="<test>", environ={}))


def sample_paths(routes: list[BaseRoute]) -> list[str]:
    """Each route's path with sample parameters, and near misses of it."""
    paths = []
    for route in routes:
        path = getattr(route, "path", "/")
        if isinstance(route, Mount):
            path += "/{rest:path}"
        path = PARAMETER.sub(lambda parameter: SAMPLES[parameter.group(1) or ""], path)
        paths += [path, path + "/", path.rstrip("/"), path + "x", path + "/x", path.upper()]
    return paths


async def outcome(router: Router, app: Starlette, path: str, method: str,
                  kind: str = "http", root_path: str = "",
                  headers: list[tuple[bytes, bytes]] | None = None) -> tuple[Any, ...]:
    """What the router does with a request: the route it hands it to, with what
    parameters, and what comes back (the endpoints run without a started app, so most of
    them raise: the same way under either router)."""
    scope: dict[str, Any] = {
        "type": kind, "method": method, "path": root_path + path, "root_path": root_path,
        "raw_path": (root_path + path).encode(), "query_string": b"",
        "headers": headers or [], "scheme": "http", "server": ("testserver", 80), "app": app,
    }
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append((message.get("type"), message.get("status"), message.get("headers")))

    try:
        await router.app(scope, receive, send)
        raised: Any = None
    except HTTPException as exc:
        raised = ("HTTPException", exc.status_code, exc.headers)
    except Exception as exc:  # what the endpoint itself did
        raised = type(exc).__name__
    return (scope.get("route"), scope.get("path_params"), scope.get("endpoint"),
            scope.get("root_path"), sent[:1], raised)


async def assert_same_choices(routes: list[BaseRoute], app: Starlette, paths: list[str],
                              kinds: tuple[str, ...] = ("http",), root_path: str = "") -> int:
    plain, indexed = Router(routes), IndexedRouter(routes)
    compared = 0
    for kind in kinds:
        for path in dict.fromkeys(paths):
            for method in METHODS if kind == "http" else ("GET",):
                expected = await outcome(plain, app, path, method, kind, root_path)
                for asked in ASKED:
                    got = await outcome(indexed, app, path, method, kind, root_path)
                    assert got == expected, (kind, method, path, asked)
                compared += 1
    return compared


@pytest.mark.anyio
@pytest.mark.parametrize("build", [default_app, other_plugins_app])
async def test_every_route_of_the_assembled_apps_is_picked_as_starlette_picks_it(tmp_path, build):
    app = build(tmp_path)
    assert isinstance(app.router, IndexedRouter)
    paths = [*sample_paths(app.routes), *TRICKY]
    assert await assert_same_choices(app.routes, app, paths) == len(set(paths)) * len(METHODS)


@pytest.mark.anyio
async def test_under_a_root_path_the_same_route_is_picked(tmp_path):
    app = default_app(tmp_path)
    await assert_same_choices(app.routes, app, [*sample_paths(app.routes), *TRICKY],
                              root_path="/behind/a/proxy")


async def endpoint(request: Any) -> PlainTextResponse:
    return PlainTextResponse(request.url.path)


async def socket(websocket: Any) -> None:
    await websocket.close()


# Literals that look like parameters, parameters that swallow literals, a host route, a
# route matched its own way, mounts with and without routes, websockets: in an order where
# an earlier route must win.
ODD_ROUTES: list[BaseRoute] = [
    Route("/items/{item_id:int}", endpoint, methods=["GET"]),
    Route("/items/new", endpoint, methods=["GET", "POST"]),
    Route("/items/{name}", endpoint, methods=["DELETE"]),
    Route("/items/{name}/", endpoint),
    Route("/files/{rest:path}", endpoint),
    Route("/files/special", endpoint),
    Route("/v{version:int}/ping", endpoint),
    Route("/braces/{not a parameter}", endpoint),
    Route("/report.{format}", endpoint),
    Route("/", endpoint),
    Mount("/static", routes=[Route("/{name}", endpoint), Route("/", endpoint)]),
    Mount("/raw", app=PlainTextResponse("raw")),
    Mount("", routes=[Route("/catch/{x}", endpoint)]),
    Host("admin.example.com", app=PlainTextResponse("admin")),
    WebSocketRoute("/ws/{room}", socket),
    WebSocketRoute("/ws/lobby", socket),
]


class Anywhere(Route):
    """A route that matches in its own way: the index cannot know which paths it takes."""

    def matches(self, scope: Any) -> Any:
        match, child = super().matches({**scope, "path": "/anywhere"})
        return match, child


@pytest.mark.anyio
async def test_odd_routes_are_picked_as_starlette_picks_them():
    routes = [*ODD_ROUTES, Anywhere("/anywhere", endpoint, methods=["PUT"])]
    app = Starlette()
    paths = [
        *sample_paths(routes), "/items/12", "/items/new", "/items/new/", "/items/12/",
        "/items/x", "/files", "/files/special", "/files/a/b/", "/v2/ping", "/v2/ping/",
        "/vx/ping", "/braces/{not a parameter}", "/braces/x", "/report.csv", "/report.",
        "/static", "/static/", "/static/a", "/static/a/b", "/raw", "/raw/", "/raw/x",
        "/catch/1", "/catch", "/ws/lobby", "/ws/x", "/ws/x/y", "/elsewhere", "/x\n", "/\n",
    ]
    await assert_same_choices(routes, app, paths, kinds=("http", "websocket"))


@pytest.mark.anyio
async def test_plain_routes_asked_again_are_picked_as_starlette_picks_them():
    """Without the host, mount and own-way routes every full match is kept."""
    routes = [route for route in ODD_ROUTES if type(route) is Route]
    paths = [*sample_paths(routes), "/items/12", "/items/new", "/items/x", "/files/special",
             "/files/a/b/", "/v2/ping", "/braces/{not a parameter}", "/report.csv", "/"]
    await assert_same_choices(routes, Starlette(), paths)
    router = IndexedRouter(routes)
    await outcome(router, Starlette(), "/items/12", "GET")
    assert router._index is not None and router._index.matches_kept == 0
    await outcome(router, Starlette(), "/items/12", "GET")
    assert router._index.matches_kept == 1


@pytest.mark.anyio
async def test_paths_asked_once_each_are_not_kept():
    router = IndexedRouter([Route("/items/{name}", endpoint)])
    for number in range(100):
        await outcome(router, Starlette(), f"/items/{number}", "GET")
    assert router._index is not None and router._index.matches_kept == 0


@pytest.mark.anyio
async def test_a_match_a_host_route_could_take_is_not_kept():
    host = Host("admin.example.com", app=PlainTextResponse("admin"))
    router = IndexedRouter([host, route := Route("/x", endpoint)])
    admin = [(b"host", b"admin.example.com")]
    for _ in ASKED:
        assert (await outcome(router, Starlette(), "/x", "GET"))[0] is route
    assert (await outcome(router, Starlette(), "/x", "GET", headers=admin))[0] is host
    assert router._index is not None and router._index.matches_kept == 0


@pytest.mark.anyio
async def test_each_request_has_path_parameters_of_its_own():
    router = IndexedRouter([Route("/items/{name}", endpoint)])
    for asked in ASKED:
        path_params = (await outcome(router, Starlette(), "/items/abc", "GET"))[1]
        path_params["name"] = "changed by the endpoint"
        assert (await outcome(router, Starlette(), "/items/abc", "GET"))[1] == {
            "name": "abc"}, asked


@pytest.mark.anyio
async def test_the_kept_matches_are_bounded_in_number_and_length():
    router = IndexedRouter([Route("/items/{name}", endpoint)])
    for number in range(MATCHES_KEPT + 10):
        for _ in ASKED:
            await outcome(router, Starlette(), f"/items/{number}", "GET")
    assert router._index is not None and 0 < router._index.matches_kept <= MATCHES_KEPT
    router = IndexedRouter([Route("/items/{name}", endpoint)])
    long_path = "/items/" + "x" * (KEPT_PATH_MOST - len("/items/") + 1)
    for _ in ASKED:
        assert (await outcome(router, Starlette(), long_path, "GET"))[1] == {
            "name": long_path[7:]}
    assert router._index is not None and router._index.matches_kept == 0


def test_a_path_tries_only_routes_it_could_match_in_declaration_order():
    index = RouteIndex(ODD_ROUTES)

    def tried(path: str) -> list[str | None]:
        return [getattr(route, "path", None) for route in index.candidates(path)]

    everywhere = ["/v{version:int}/ping", "/report.{format}", "", None]  # None: the host
    assert tried("/nowhere/at/all") == everywhere
    assert tried("/items/new") == [
        "/items/{item_id:int}", "/items/new", "/items/{name}", "/items/{name}/", *everywhere]
    assert tried("/ws/lobby") == [*everywhere, "/ws/{room}", "/ws/lobby"]


@pytest.mark.anyio
async def test_routes_added_after_the_first_request_are_found():
    router = IndexedRouter([Route("/a", endpoint)])
    app = Starlette()
    before = await outcome(router, app, "/b", "GET")
    router.routes.append(late := Route("/b", endpoint))
    after = await outcome(router, app, "/b", "GET")
    assert before[0] is None and after[0] is late
