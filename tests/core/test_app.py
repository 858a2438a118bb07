"""The app factory: apps side by side, the lifespan, the ASGI entry."""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.app import create_app
from core.auth import Actor
from core.context import AppContext
from core.errors import ConfigError
from core.lifespan import YOUNG_COLLECTION_THRESHOLD
from core.plugins import hookimpl
from tests.support.stand_ins import StandInUserAuthPlugin

EXAMPLE = "tests.core.example_plugin"


class Banner:
    """A plugin with a route of its own, loaded into one of the two apps only."""

    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        from starlette.routing import Route

        from core.http import respond

        async def banner(request: Any) -> Any:
            return respond({"banner": "only here"})

        return [Route("/banner", banner)]


@asynccontextmanager
async def serving(*apps: Starlette) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Run the apps' lifespans and clients on one event loop, as one server process does
    (TestClient gives each app a loop of its own, which a shared pool cannot cross)."""
    async with AsyncExitStack() as stack:
        clients = []
        for app in apps:
            state = await stack.enter_async_context(app.router.lifespan_context(app))
            transport = httpx.ASGITransport(app=_with_state(app, state))
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            clients.append(await stack.enter_async_context(client))
        yield clients


def _with_state(app: Starlette, state: dict[str, Any]) -> Any:
    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return asgi


def test_two_apps_with_different_configs_live_in_one_process(db_config):
    first_app = create_app(db_config([EXAMPLE], plugins={"guestbook": {"title": "First"}}),
                           plugins=[StandInUserAuthPlugin()])
    second_app = create_app(
        db_config([EXAMPLE], plugins={"guestbook": {"title": "Second", "page_size": 1}},
                  http={"max_body_bytes": 64}),
        plugins=[StandInUserAuthPlugin(), Banner()],
    )
    user = {"x-test-user": "ada"}

    async def exercise() -> None:
        async with serving(first_app, second_app) as (first, second):
            for text in ("one", "two"):
                signed = await first.post("/api/v1/guestbook", json={"text": text}, headers=user)
                assert signed.status_code == 201, signed.text
            assert (await first.get("/api/v1/guestbook")).json()["title"] == "First"
            listing = (await second.get("/api/v1/guestbook")).json()
            assert listing["title"] == "Second"
            assert [entry["text"] for entry in listing["entries"]] == ["two"]  # one database
            assert (await second.get("/banner")).json() == {"banner": "only here"}
            assert (await first.get("/banner")).status_code == 404
            long_text = {"text": "x" * 100}
            too_long = await second.post("/api/v1/guestbook", json=long_text, headers=user)
            assert too_long.status_code == 413
            accepted = await first.post("/api/v1/guestbook", json=long_text, headers=user)
            assert accepted.status_code == 201
            for client in (first, second):
                assert (await client.get("/readyz")).json()["status"] == "ok"

    asyncio.run(exercise())
    first_ctx, second_ctx = first_app.state.ctx, second_app.state.ctx
    assert first_ctx.pm is not second_ctx.pm and first_ctx.cache is not second_ctx.cache


class LifecycleRecorder:
    def __init__(self, name: str, calls: list[str], *, fail_shutdown: bool = False) -> None:
        self.name, self.calls, self.fail_shutdown = name, calls, fail_shutdown

    @hookimpl
    def startup(self, ctx: AppContext) -> Any:
        assert ctx.db is not None and ctx.aws is not None and ctx.cache is not None
        self.calls.append(f"call startup {self.name}")

        async def opened() -> None:
            await asyncio.sleep(0)
            ctx.state[self.name] = "open"
            self.calls.append(f"awaited startup {self.name}")

        return opened()

    @hookimpl
    async def shutdown(self, ctx: AppContext) -> None:
        self.calls.append(f"shutdown {self.name}")
        if self.fail_shutdown:
            raise RuntimeError("cannot close")

    @hookimpl
    def user_authenticator(self, ctx: AppContext) -> None:
        self.calls.append(f"authenticator {self.name} sees {ctx.state.get(self.name)}")


@pytest.mark.hooks("startup", "shutdown")
def test_the_lifespan_starts_plugins_in_order_and_stops_them_in_reverse(kernel_config):
    calls: list[str] = []
    recorders = [LifecycleRecorder("a", calls),
                 LifecycleRecorder("b", calls, fail_shutdown=True),
                 LifecycleRecorder("c", calls)]
    app = create_app(kernel_config(), plugins=recorders)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert calls[:6] == [
            "call startup a", "awaited startup a",
            "call startup b", "awaited startup b",
            "call startup c", "awaited startup c",
        ]
        assert sorted(calls[6:]) == [f"authenticator {name} sees open" for name in "abc"]
        calls.clear()
    assert calls == ["shutdown c", "shutdown b", "shutdown a"]  # b failing stops nobody


def test_an_app_can_start_twice(kernel_config):
    app = create_app(kernel_config(), plugins=[StandInUserAuthPlugin()])
    for _ in range(2):
        with TestClient(app) as client:
            checks = client.get("/readyz").json()["checks"]
            assert checks == {"database": "ok", "cache:memory": "ok"}
            assert len(app.state.ctx.user_authenticators) == 1


def test_a_server_freezes_its_start_up_heap_out_of_the_collectors_sight(kernel_config):
    frozen_before, thresholds = gc.get_freeze_count(), gc.get_threshold()
    app = create_app(kernel_config(server={"freeze_heap_after_startup": True}))
    try:
        with TestClient(app):
            assert gc.get_freeze_count() > frozen_before
            assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *thresholds[1:])
    finally:
        gc.unfreeze()  # the rest of the test run collects as usual
        gc.set_threshold(*thresholds)
    with TestClient(create_app(kernel_config())):  # the tests' own setting: nothing frozen
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == thresholds


class NotAnAuthenticator:
    @hookimpl
    def user_authenticator(self, ctx: AppContext) -> object:
        return object()


@pytest.mark.hooks("user_authenticator")
def test_a_strategy_that_misses_the_protocol_stops_start_up(kernel_config):
    app = create_app(kernel_config(), plugins=[NotAnAuthenticator()])
    refused = pytest.raises(ConfigError, match="does not satisfy core.auth.UserAuthenticator")
    with refused, TestClient(app):
        pass


class StaticUser:
    name = "static"

    def __init__(self, user: str) -> None:
        self.user = user

    async def authenticate(self, request: Any) -> Actor | None:
        return Actor(id=self.user, provider=self.name) if "x-static" in request.headers else None


class StaticUserPlugin:
    def __init__(self, user: str) -> None:
        self.user = user

    @hookimpl
    def user_authenticator(self, ctx: AppContext) -> StaticUser:
        return StaticUser(self.user)


@pytest.mark.hooks("user_authenticator")
def test_the_first_user_authenticator_that_knows_the_request_wins(make_client, kernel_config):
    client = make_client(kernel_config([EXAMPLE]),
                         plugins=[StandInUserAuthPlugin(), StaticUserPlugin("bob")])
    headers = {"x-test-user": "alice", "x-static": "1"}
    assert client.post("/api/v1/guestbook", json={"text": "hi"},
                       headers=headers).json()["author"] == "alice"
    assert client.post("/api/v1/guestbook", json={"text": "hi"},
                       headers={"x-static": "1"}).json()["author"] == "bob"


@pytest.mark.hooks("config_problems")
def test_a_bad_plugin_setting_stops_create_app(kernel_config):
    with pytest.raises(ConfigError) as caught:
        create_app(kernel_config([EXAMPLE], plugins={"guestbook": {"page_size": 500}}))
    assert str(caught.value) == "<test>: plugins.guestbook.page_size: expected 1 to 100, got 500"


@pytest.fixture
def restore_logging(monkeypatch):
    """core.asgi configures logging for a server process; put it back afterwards."""
    for name in ("itube", "uvicorn.error", "uvicorn.access", "werkzeug"):
        logger = logging.getLogger(name)
        for attribute in ("handlers", "propagate", "level", "disabled"):
            monkeypatch.setattr(logger, attribute, getattr(logger, attribute))


def test_the_asgi_entry_builds_its_app_from_itube_config(
    tmp_path, sqlite_url, monkeypatch, restore_logging
):
    path = tmp_path / "served.toml"
    path.write_text(f'[app]\nplugins = ["{EXAMPLE}"]\n[database]\nurl = "{sqlite_url}"\n'
                    'migrate_on_start = true\n[plugins.guestbook]\ntitle = "Served"\n')
    monkeypatch.setenv("ITUBE_CONFIG", str(path))
    monkeypatch.delitem(sys.modules, "core.asgi", raising=False)
    asgi = importlib.import_module("core.asgi")
    monkeypatch.delitem(sys.modules, "core.asgi")
    assert asgi.app.state.ctx.config.source == str(path)
    with TestClient(asgi.app) as client:
        assert client.get("/api/v1/guestbook").json() == {"title": "Served", "entries": []}


# -- one method and path, one plugin ---------------------------------------------------------


class RoutesOf:
    """A plugin contributing the given routes (registered as an object, named by class)."""

    def __init__(self, *routes: Any) -> None:
        self.routes = list(routes)

    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        return self.routes


class Videos(RoutesOf):
    pass


class MoreVideos(RoutesOf):
    pass


async def nothing(request: Any) -> Any:
    from starlette.responses import Response

    return Response()


def route(path: str, *methods: str) -> Any:
    from starlette.routing import Route

    return Route(path, nothing, methods=list(methods) or None)


def refusal(kernel_config, *plugins: object, names: list[str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        create_app(kernel_config(names or []), plugins=list(plugins))
    return str(caught.value)


@pytest.mark.hooks("register_routes")
def test_two_user_auth_providers_cannot_both_mount_the_auth_routes(kernel_config):
    with pytest.raises(ConfigError) as caught:
        create_app(kernel_config(["local_aws", "auth_cognito", "auth_local"]))
    assert str(caught.value) == (
        "<test>: app.plugins: auth_cognito and auth_local both declare "
        "POST /api/v1/auth/register, POST /api/v1/auth/confirm, "
        "POST /api/v1/auth/resend-code, POST /api/v1/auth/login and 3 more: "
        "load only one of them"
    )


def test_the_same_route_under_other_parameter_names_is_the_same_route(kernel_config):
    message = refusal(kernel_config, Videos(route("/videos/{video_id}", "GET")),
                      MoreVideos(route("/videos/{id}", "GET", "PATCH")))
    videos, more = (f"tests.core.test_app.{name}" for name in ("Videos", "MoreVideos"))
    assert message == (
        f"<test>: app.plugins: {videos} and {more} both declare GET /videos/{{}}: "
        "load only one of them"
    )


def test_a_plugin_cannot_take_a_kernel_route_or_declare_one_twice(kernel_config):
    assert refusal(kernel_config, Videos(route("/healthz", "GET"))) == (
        "<test>: app.plugins: the kernel and tests.core.test_app.Videos both declare "
        "GET /healthz: load only one of them"
    )
    assert refusal(kernel_config, Videos(route("/v", "POST"), route("/v", "POST"))) == (
        "<test>: app.plugins: tests.core.test_app.Videos declares POST /v twice"
    )


class Hook:
    """An ASGI app as a route's endpoint: Starlette lets it answer every method."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


def test_a_route_for_any_method_clashes_with_every_method(kernel_config):
    from starlette.routing import Mount, Route

    any_method = Route("/hook", Hook())
    assert any_method.methods is None
    assert "both declare * /hook" in refusal(
        kernel_config, Videos(route("/hook", "DELETE")), MoreVideos(any_method)
    )
    mounted = Mount("/api", routes=[route("/items", "GET")])
    assert "both declare GET /api/items" in refusal(
        kernel_config, Videos(route("/api/items", "GET")), MoreVideos(mounted)
    )


def test_routes_that_differ_in_method_or_path_load_together(kernel_config):
    app = create_app(kernel_config([EXAMPLE]), plugins=[
        Videos(route("/videos/{id}", "GET"), route("/videos/{id:int}/x", "GET")),
        MoreVideos(route("/videos/{id}", "PATCH"), route("/videos/quota", "GET")),
    ])
    paths = [getattr(r, "path", None) for r in app.routes]
    # The kernel's first, then each plugin's in config order: the order routes match in.
    assert paths.index("/healthz") < paths.index("/api/v1/guestbook") < paths.index("/videos/{id}")
    assert paths.index("/videos/{id:int}/x") < paths.index("/videos/quota")


# -- a client leaving mid-request --------------------------------------------------------------


def test_a_client_that_leaves_mid_body_is_logged_as_info_not_as_an_error(kernel_config, log_lines):
    from starlette.routing import Route

    async def reads_body(request: Any) -> Any:
        await request.body()
        raise AssertionError("the body never arrives")

    app = create_app(kernel_config(logging={"access_log": True}),
                     plugins=[Videos(Route("/upload", reads_body, methods=["POST"]))])
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "http.request", "body": b"half", "more_body": True},
                     {"type": "http.disconnect"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/upload", "raw_path": b"/upload",
             "query_string": b"", "headers": [(b"content-length", b"100")], "app": app,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "scheme": "http",
             "root_path": "", "http_version": "1.1", "state": {}}
    asyncio.run(app(scope, receive, send))
    assert sent == []  # nobody is left to answer
    lines = log_lines()
    assert [line["level"] for line in lines] == ["INFO", "INFO"]
    assert lines[0]["msg"] == "client disconnected before the request was read"
    assert (lines[1]["msg"], lines[1]["status"]) == ("request", 499)
