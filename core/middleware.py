"""The kernel's ASGI middleware: request context and access log, body limit, origin check."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import PayloadTooLarge
from core.log import request_id_var
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
    """Outermost: assigns the request id, logs one line per request, turns any uncaught
    exception into a problem 500 (the traceback goes to the log, never to the client)."""

    def __init__(self, app: ASGIApp, *, access_log_enabled: bool = True,
                 metrics: Metrics | None = None) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled
        self.metrics = metrics if metrics is not None else Metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = Headers(scope=scope).get("x-request-id", "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            with self.metrics.serving():
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
            route = getattr(scope.get("route"), "path", None)
            self.metrics.observe_request(scope["method"], route, status,
                                         time.perf_counter() - started)
            if self.access_log_enabled:
                self._log(scope, status, started)
            request_id_var.reset(token)

    @staticmethod
    def _log(scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        state = scope.get("state") or {}
        access_log.info(
            "request",
            extra={
                "method": scope.get("method"),
                "route": getattr(route, "path", None) or "(unmatched)",
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "principal": state.get("principal_id"),
            },
        )


def _stopping_response() -> Response:
    return problem_response(503, "The server is shutting down; retry the request",
                            headers={"Retry-After": "1", "Connection": "close"})


class BodyLimitMiddleware:
    """413 problem for bodies over the limit, whether declared or streamed."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            return await problem_response(413, self._detail())(scope, receive, send)
        received = 0

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise PayloadTooLarge(self._detail())
            return message

        await self.app(scope, receive_with_limit, send)

    def _detail(self) -> str:
        return f"The request body exceeds {self.max_body_bytes} bytes"


class OriginCheckMiddleware:
    """Cross-site request forgery guard: a cookie-carrying unsafe request whose `Origin`
    is present must come from this host or an allowed origin."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str]) -> None:
        self.app = app
        self.allowed = {origin.rstrip("/") for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin and "cookie" in headers and not self._allowed(origin, headers):
                response = problem_response(
                    403, f"Origin {origin} is not allowed to send authenticated requests"
                )
                return await response(scope, receive, send)
        await self.app(scope, receive, send)

    def _allowed(self, origin: str, headers: Headers) -> bool:
        origin = origin.rstrip("/")
        host = headers.get("host", "")
        same_origin = origin.split("://", 1)[-1] == host
        return same_origin or origin in self.allowed
