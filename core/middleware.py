"""The kernel's ASGI middleware: request context, errors, metrics and access log; body
limit and origin check."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from core.errors import PayloadTooLarge
from core.log import log_access, new_request_id, request_id_var
from core.metrics import Metrics
from core.problems import answer_exception, internal_error_response, problem_response

error_log = logging.getLogger("itube.errors")
request_log = logging.getLogger("itube.requests")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HTTP1 = frozenset({"1.0", "1.1"})
# The access log's status for a request its client abandoned (nginx's convention).
CLIENT_CLOSED_REQUEST = 499
# The route logged for a request no route matched.
UNMATCHED = "(unmatched)"


class RequestContextMiddleware:
    """Outermost: assigns the request id, counts the request (core.metrics), logs one line
    per request, hands `exception_handlers` to the routes and the router (which answer
    their own exceptions with them), answers with them a problem a middleware raised, and
    turns any other uncaught exception into a problem 500 (the traceback goes to the log,
    never to the client).

    One layer for all of it, in place of Starlette's own outer two (`core.app.KernelApp`):
    each pure-ASGI layer costs a frame and a closure on every request."""

    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True,
                 metrics: Metrics | None = None,
                 exception_handlers: Mapping[Any, ExceptionHandler] | None = None) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self.metrics = metrics if metrics is not None else Metrics()
        # What Starlette's ExceptionMiddleware leaves in the scope for each route's handling.
        self._route_handlers: tuple[dict[Any, ExceptionHandler], dict[int, ExceptionHandler]] = (
            dict(exception_handlers or {}), {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope["starlette.exception_handlers"] = self._route_handlers
        request_id = _request_id(scope)
        header = (b"x-request-id", request_id.encode())
        token = request_id_var.set(request_id)
        metrics = self.metrics if self.metrics.enabled else None
        serving = metrics.request_started() if metrics is not None else None
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            # The client went away before its request was read: nothing failed here, and
            # nobody is left to answer.
            status = CLIENT_CLOSED_REQUEST
            request_log.info("client disconnected before the request was read",
                             extra=_target(scope))
        except asyncio.CancelledError:
            # The server is stopping and the request outlived the grace period: a 503 the
            # client may retry elsewhere, rather than the server's bare 500.
            if not response_started:
                await _stopping_response()(scope, receive, send_with_id)
            raise
        except Exception as exc:
            if response_started or not await answer_exception(exc, scope, receive,
                                                              send_with_id):
                error_log.exception("unhandled error", extra=_target(scope))
                if not response_started:
                    await internal_error_response()(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_template(scope)
            if metrics is not None and serving is not None:
                metrics.request_ended(serving)
                metrics.observe_request(scope["method"], route, status, seconds)
            if self.access_log_enabled:
                state = scope.get("state")
                log_access(scope["method"], route or UNMATCHED, status, seconds,
                           state.get("principal_id") if state else None)
            request_id_var.reset(token)


def _request_id(scope: Scope) -> str:
    """The client's `X-Request-Id` when it is sane, else a new one."""
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            if _SANE_REQUEST_ID.match(incoming):
                return incoming
            break
    return new_request_id()


def _route_template(scope: Scope) -> str | None:
    """The matched route's template (`/api/v1/shared/{token}`), None before or without a
    match."""
    return getattr(scope.get("route"), "path", None)


def _target(scope: Scope) -> dict[str, Any]:
    """What a log line tells of a request's target: never its path, which may carry a
    secret (a share link's token)."""
    return {"method": scope.get("method"), "route": _route_template(scope) or UNMATCHED}


def _stopping_response() -> Response:
    return problem_response(503, "The server is shutting down; retry the request",
                            headers={"Retry-After": "1", "Connection": "close"})


class RequestGuardMiddleware:
    """What a request must satisfy before the app reads it, in one layer:

    - cross-site request forgery guard: a cookie-carrying unsafe request whose `Origin`
      is present comes from this host or an allowed origin (else a 403 problem);
    - its body fits `max_body_bytes`, whether declared or streamed (else a 413 problem).

    In HTTP/1 a request's body is exactly its declared `Content-Length` (none declared: no
    body), which the server's parser holds it to; only a streamed body (`Transfer-Encoding`),
    an unreadable declaration or another protocol's body is counted as it arrives.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.allowed = {origin.rstrip("/") for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        head = _Head(scope["headers"])
        refusal = self._refusal(scope["method"], head)
        if refusal is not None:
            return await refusal(scope, receive, send)
        if scope.get("http_version") in HTTP1 and not head.streamed and (
                head.length is None or head.length.isdigit()):
            return await self.app(scope, receive, send)
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise PayloadTooLarge(self._too_large())
            return message

        await self.app(scope, receive_with_limit, send)

    def _refusal(self, method: str, head: _Head) -> Response | None:
        if method in UNSAFE_METHODS and head.origin and head.cookie:
            origin = head.origin.decode("latin-1")
            if not self._allowed(origin, head.host.decode("latin-1")):
                return problem_response(
                    403, f"Origin {origin} is not allowed to send authenticated requests"
                )
        declared = head.length
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            return problem_response(413, self._too_large())
        return None

    def _too_large(self) -> str:
        return f"The request body exceeds {self.max_body_bytes} bytes"

    def _allowed(self, origin: str, host: str) -> bool:
        origin = origin.rstrip("/")
        same_origin = origin.split("://", 1)[-1] == host
        return same_origin or origin in self.allowed


class _Head:
    """The request headers the guard reads, in one pass (the first of each, as
    Starlette's `Headers.get` answers)."""

    __slots__ = ("cookie", "host", "length", "origin", "streamed")

    def __init__(self, headers: Iterable[tuple[bytes, bytes]]) -> None:
        self.origin: bytes | None = None
        self.cookie = False
        self.host = b""
        self.length: bytes | None = None
        self.streamed = False
        seen_host = False
        for name, value in headers:
            if name == b"content-length":
                if self.length is None:
                    self.length = value
            elif name == b"transfer-encoding":
                self.streamed = True
            elif name == b"origin":
                if self.origin is None:
                    self.origin = value
            elif name == b"cookie":
                self.cookie = True
            elif name == b"host" and not seen_host:
                self.host, seen_host = value, True
