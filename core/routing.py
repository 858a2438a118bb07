"""Routes that declare what they take and return, so the OpenAPI document writes itself."""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import attrs
from starlette.convertors import Convertor, UUIDConvertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from core.deps import current_actor, current_service
from core.problems import answer_exception

Auth = Literal["user", "optional_user", "service"] | None


class UUIDTextConvertor(Convertor[str]):
    """`{name:uuid_text}`: what Starlette's `uuid` matches, as its canonical text
    (lowercase, dashed). A route whose answer is cached by id needs the text, not a
    `uuid.UUID`: building one was a tenth of a cached get."""

    regex = UUIDConvertor.regex

    def convert(self, value: str) -> str:
        # Thirty-six characters the pattern matched are 32 hex digits and all four dashes.
        return value.lower() if len(value) == 36 else str(uuid.UUID(value))

    def to_string(self, value: str) -> str:
        return str(value)


register_url_convertor("uuid_text", UUIDTextConvertor())


@attrs.frozen
class Param:
    """A path, query or header parameter."""

    name: str
    location: Literal["path", "query", "header"] = "query"
    type: Any = str
    description: str = ""
    required: bool = False
    schema: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class Operation:
    summary: str
    body: type | None = None
    response: Any = None  # an attrs class, list[cls], or None for no body
    status: int = 200
    auth: Auth = None
    params: Sequence[Param] = ()
    errors: Sequence[int] = ()
    tags: Sequence[str] = ()
    response_headers: dict[str, str] = attrs.Factory(dict)
    # Content types the body may arrive in, JSON first.
    body_media_types: Sequence[str] = ("application/json",)
    # False when the route also accepts no body at all (e.g. a query-string form).
    body_required: bool = True
    # The content type of the success response (e.g. text/event-stream for a stream).
    response_media_type: str = "application/json"
    description: str = ""


class ApiRoute(Route):
    """A Starlette route carrying its `Operation` for the OpenAPI generator. The declared
    `auth` is also enforced before the endpoint runs, so the document never promises a
    check the route does not make."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, operation: Operation, **kw: Any):
        guarded = _guarded(endpoint, operation.auth)
        super().__init__(path, guarded, **kw)
        if inspect.iscoroutinefunction(guarded) and "middleware" not in kw:
            self.app = _endpoint_app(guarded)
        self.operation = operation


def _endpoint_app(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    """An async endpoint as an ASGI app: what Starlette's `request_response` does, without
    the two closures and the `send` wrapper it makes per request. An exception the
    endpoint raises is answered here, inside every middleware, with the app's handlers;
    one raised while the response is sent goes up to the request context, which knows
    whether the response had started."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await endpoint(Request(scope, receive, send))
        except Exception as exc:
            if not await answer_exception(exc, scope, receive, send):
                raise
            exc.__traceback__ = None  # a reused exception would keep every request's frames
            return
        await response(scope, receive, send)

    return app


def _guarded(endpoint: Callable[..., Any], auth: Auth) -> Callable[..., Any]:
    check = {"user": current_actor, "service": current_service}.get(auth or "")
    if check is None:
        return endpoint
    if not inspect.iscoroutinefunction(endpoint):
        raise TypeError(f"{endpoint!r}: a route with auth={auth!r} needs an async endpoint")

    @functools.wraps(endpoint)
    async def guarded(request: Request) -> Any:
        await check(request)  # raises the 401/403 problem; the answer is kept for the handler
        return await endpoint(request)

    return guarded


def api_route(
    path: str,
    endpoint: Callable[..., Any],
    *,
    methods: Sequence[str],
    summary: str,
    name: str | None = None,
    **operation: Any,
) -> ApiRoute:
    """`Route(path, endpoint, methods=...)` plus what the route takes and returns."""
    return ApiRoute(
        path,
        endpoint,
        methods=list(methods),
        name=name or endpoint.__name__,
        operation=Operation(summary=summary, **operation),
    )
