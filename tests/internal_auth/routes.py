"""A small inline plugin with service routes and a user route, for testing service auth
without the video plugin."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.context import AppContext
from core.deps import current_actor, current_service
from core.http import respond
from core.plugins import hookimpl
from core.routing import api_route


async def object_by_key(request: Request) -> Response:
    principal = await current_service(request)
    return respond({"key": request.path_params["key"], "principal": principal.id,
                    "method": principal.method})


async def report_status(request: Request) -> Response:
    principal = await current_service(request)
    body = await request.body()
    status = request.query_params.get("status")
    if body:
        status = (await request.json())["status"]
    return respond({"item": request.path_params["item_id"], "status": status,
                    "principal": principal.id})


async def whoami(request: Request) -> Response:
    actor = await current_actor(request)
    return respond({"user": actor.id})


class InlineRoutesPlugin:
    """GET /internal/objects/{key:path}, PATCH|POST /internal/items/{id}/status (service)
    and GET /me (user)."""

    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        return [
            api_route("/internal/objects/{key:path}", object_by_key, methods=["GET", "DELETE"],
                      summary="An object by key", auth="service"),
            api_route("/internal/items/{item_id}/status", report_status,
                      methods=["PATCH", "POST"], summary="Report a status", auth="service"),
            api_route("/me", whoami, methods=["GET"], summary="The signed-in user", auth="user"),
        ]
