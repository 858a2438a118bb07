"""Log lines name a request's route, never its path: a path may carry a secret (a share
link's token), and no secret may reach a log."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.app import create_app
from core.context import AppContext
from core.plugins import hookimpl

SECRET = "Tk9UX0ZPUl9USEVfTE9HU19hYmNkZWZnaGlqa2xtbm9w"


async def explode(request: Request) -> Response:
    raise RuntimeError("a failure inside the route")


async def reads_body(request: Request) -> Response:
    await request.body()
    raise AssertionError("the body never arrives")


class SecretPaths:
    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        return [Route("/shared/{token}/explode", explode),
                Route("/shared/{token}/upload", reads_body, methods=["POST"])]


def _everything(log_lines: Any) -> str:
    return orjson.dumps(log_lines()).decode()


def test_an_unhandled_error_logs_the_route_not_the_token(make_client, kernel_config, log_lines):
    client = make_client(kernel_config(logging={"access_log": True}), plugins=[SecretPaths()])
    response = client.get(f"/shared/{SECRET}/explode")
    assert response.status_code == 500
    [error] = [line for line in log_lines() if line["msg"] == "unhandled error"]
    assert (error["method"], error["route"]) == ("GET", "/shared/{token}/explode")
    assert "a failure inside the route" in error["exc"]
    assert SECRET not in _everything(log_lines)


def test_a_client_leaving_mid_body_logs_the_route_not_the_token(kernel_config, log_lines):
    app = create_app(kernel_config(logging={"access_log": True}), plugins=[SecretPaths()])
    messages = iter([{"type": "http.request", "body": b"half", "more_body": True},
                     {"type": "http.disconnect"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError(f"nobody is left to answer: {message}")

    path = f"/shared/{SECRET}/upload"
    scope = {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [(b"content-length", b"100")], "app": app,
             "client": ("127.0.0.1", 1), "server": ("testserver", 80), "scheme": "http",
             "root_path": "", "http_version": "1.1", "state": {}}
    asyncio.run(app(scope, receive, send))
    [left] = [line for line in log_lines() if line["msg"].startswith("client disconnected")]
    assert (left["method"], left["route"]) == ("POST", "/shared/{token}/upload")
    assert SECRET not in _everything(log_lines)
