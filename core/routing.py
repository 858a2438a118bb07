"""Routes that declare what they take and return, so the OpenAPI document writes itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import attrs
from starlette.routing import Route

Auth = Literal["user", "optional_user", "service"] | None


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
    description: str = ""


class ApiRoute(Route):
    """A Starlette route carrying its `Operation` for the OpenAPI generator."""

    def __init__(self, path: str, endpoint: Callable[..., Any], *, operation: Operation, **kw: Any):
        super().__init__(path, endpoint, **kw)
        self.operation = operation


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
