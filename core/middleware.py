"""The kernel's ASGI middleware: request context, metrics and access log; body limit and
origin check."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PayloadTooLarge
from core.log import new_request_id, request_id_var
from core.metrics import Metrics
from core.problems import internal_error_response, problem_response

access_log = logging.getLogger("itube.access")
error_log = logging.getLogger("itube.errors")
request_log = logging.getLogger("itube.requests")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The access log's status for a request its client abandoned (nginx's convention).
CLIENT_CLOSED_REQUEST = 499


class RequestContextMiddleware:
    """Outermost: assigns the request id, counts the request (core.metrics), logs one line
    per request, turns any uncaught exception into a problem 500 (the traceback goes to
    the log, never to the client). One layer for all of it: each pure-ASGI layer costs
    a frame and a closure on every request."""

    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True,
                 metrics: Metrics | None = None) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self.metrics = metrics if metrics is not None else Metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
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
                             extra={"path": scope.get("path")})
        except asyncio.CancelledError:
            # The server is stopping and the request outlived the grace period: a 503 the
            # client may retry elsewhere, rather than the server's bare 500.
            if not response_started:
                await _stopping_response()(scope, receive, send_with_id)
            raise
        except Exception:
            error_log.exception("unhandled error", extra={"path": scope.get("path")})
            if not response_started:
                await internal_error_response()(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None)
            if metrics is not None and serving is not None:
                metrics.request_ended(serving)
                metrics.observe_request(scope["method"], route, status, seconds)
            if self.access_log_enabled:
                _log_access(scope, route, status, seconds)
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


def _log_access(scope: Scope, route: str | None, status: int, seconds: float) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    state = scope.get("state") or {}
    fields = {
        "method": scope.get("method"),
        "route": route or "(unmatched)",
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "principal": state.get("principal_id"),
    }
    # Made directly: `Logger.info` would walk the stack to find its caller on every request.
    access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0,
                                            "request", (), None, extra=fields))


def _stopping_response() -> Response:
    return problem_response(503, "The server is shutting down; retry the request",
                            headers={"Retry-After": "1", "Connection": "close"})


class RequestGuardMiddleware:
    """What a request must satisfy before the app reads it, in one layer:

    - cross-site request forgery guard: a cookie-carrying unsafe request whose `Origin`
      is present comes from this host or an allowed origin (else a 403 problem);
    - its body fits `max_body_bytes`, whether declared or streamed (else a 413 problem).
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.allowed = {origin.rstrip("/") for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        refusal = self._refusal(scope)
        if refusal is not None:
            return await refusal(scope, receive, send)
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise PayloadTooLarge(self._too_large())
            return message

        await self.app(scope, receive_with_limit, send)

    def _refusal(self, scope: Scope) -> Response | None:
        headers = Headers(scope=scope)
        if scope["method"] in UNSAFE_METHODS:
            origin = headers.get("origin")
            if origin and "cookie" in headers and not self._allowed(origin, headers):
                return problem_response(
                    403, f"Origin {origin} is not allowed to send authenticated requests"
                )
        declared = headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            return problem_response(413, self._too_large())
        return None

    def _too_large(self) -> str:
        return f"The request body exceeds {self.max_body_bytes} bytes"

    def _allowed(self, origin: str, headers: Headers) -> bool:
        origin = origin.rstrip("/")
        host = headers.get("host", "")
        same_origin = origin.split("://", 1)[-1] == host
        return same_origin or origin in self.allowed
