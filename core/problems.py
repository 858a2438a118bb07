"""Every error leaves as RFC 9457 `application/problem+json`, with the request id."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ExceptionHandler, Receive, Scope, Send

from core.errors import Problem
from core.log import request_id_var

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("itube.errors")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Validation Failed",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem_body(
    status: int, detail: str, *, title: str | None = None, type_: str = "about:blank", **extra: Any
) -> dict[str, Any]:
    body = {
        "type": type_,
        "title": title or _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "request_id": request_id_var.get(),
    }
    body.update(extra)
    return body


def problem_response(
    status: int, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    return Response(
        orjson.dumps(problem_body(status, detail, **extra)),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status,
        exc.detail,
        title=exc.title,
        type_=exc.type,
        headers=exc.headers,
        instance=request.url.path,
        **exc.extra,
    )


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if exc.detail != _TITLES.get(exc.status_code) else None
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and "router" in request.scope:
        headers["Allow"] = _allowed_methods(request.scope, headers.get("Allow", ""))
    return problem_response(
        exc.status_code,
        detail or _default_detail(exc.status_code, request),
        headers=headers,
        instance=request.url.path,
    )


def _allowed_methods(scope: Scope, allowed: str) -> str:
    """Every method the routes at this path take, with those `allowed` names already.
    Starlette's 405 names the first route's only, and a path may have a route per method
    (a video's GET, PATCH and DELETE)."""
    methods = {method.strip() for method in allowed.split(",") if method.strip()}
    for route in scope["router"].routes:
        if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
            methods.update(route.methods or ())
    return ", ".join(sorted(methods))


def _default_detail(status: int, request: Request) -> str:
    if status == 404:
        return f"No resource at {request.url.path}"
    if status == 405:
        return f"{request.method} is not allowed on {request.url.path}"
    return _TITLES.get(status, "Error")


def internal_error_response() -> Response:
    """The 500 body: it never carries the exception, which only the server log sees."""
    return problem_response(500, "The server failed to handle this request; it has been logged.")


EXCEPTION_HANDLERS: dict[Any, ExceptionHandler] = {
    Problem: handle_problem, HTTPException: handle_http_exception,
}


def handler_for(exc: Exception,
                handlers: Mapping[Any, ExceptionHandler]) -> ExceptionHandler | None:
    """The handler of `exc`'s nearest class in `handlers`, as Starlette looks it up."""
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


async def answer_exception(exc: Exception, scope: Scope, receive: Receive, send: Send) -> bool:
    """Answer `exc` with the app's handler for it (the handlers `RequestContextMiddleware`
    left in the scope); False when it has none."""
    handlers = scope.get("starlette.exception_handlers", ({}, {}))[0]
    handler = handler_for(exc, handlers)
    if handler is None:
        return False
    response = await handler(Request(scope, receive), exc)  # type: ignore[arg-type,misc]
    await response(scope, receive, send)
    return True
