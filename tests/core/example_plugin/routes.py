"""HTTP in, HTTP out: parse, call the service, render."""

from __future__ import annotations

import hmac

import attrs
from starlette.requests import Request
from starlette.responses import Response

from core.deps import current_actor, get_ctx
from core.errors import Forbidden
from core.http import read_json, respond
from core.routing import Param, api_route
from core.schema import constrained
from tests.core.example_plugin import service
from tests.core.example_plugin.config import GuestbookSettings
from tests.core.example_plugin.service import Entry


@attrs.define
class NewEntry:
    """What a signed-in user writes."""

    text: str = constrained(min_length=1, max_length=280, strip=True)


@attrs.define
class Listing:
    title: str
    entries: list[Entry]


async def sign_guestbook(request: Request) -> Response:
    actor = await current_actor(request)
    new = await read_json(request, NewEntry)
    return respond(await service.add_entry(actor.id, new.text), status=201)


async def list_entries(request: Request) -> Response:
    settings: GuestbookSettings = get_ctx(request).settings("guestbook")
    entries = await service.latest_entries(settings.page_size)
    return respond(Listing(title=settings.title, entries=entries))


async def get_entry(request: Request) -> Response:
    return respond(await service.get_entry(request.path_params["entry_id"]))


async def delete_entry(request: Request) -> Response:
    settings: GuestbookSettings = get_ctx(request).settings("guestbook")
    presented = request.headers.get("x-moderator-key", "")
    if not settings.moderator_key or not hmac.compare_digest(presented, settings.moderator_key):
        raise Forbidden("Only a moderator may delete entries")
    await service.delete_entry(request.path_params["entry_id"])
    return Response(status_code=204)


ROUTES = [
    api_route("/api/v1/guestbook", sign_guestbook, methods=["POST"], summary="Sign the book",
              body=NewEntry, response=Entry, status=201, auth="user", tags=["guestbook"]),
    api_route("/api/v1/guestbook", list_entries, methods=["GET"], summary="Latest entries",
              response=Listing, tags=["guestbook"]),
    api_route("/api/v1/guestbook/{entry_id:int}", get_entry, methods=["GET"],
              summary="One entry", response=Entry, errors=[404], tags=["guestbook"],
              params=[Param("entry_id", "path", int, "The entry's number", required=True)]),
    api_route("/api/v1/guestbook/{entry_id:int}", delete_entry, methods=["DELETE"],
              summary="Delete an entry (moderators)", status=204, errors=[403, 404],
              tags=["guestbook"],
              params=[Param("X-Moderator-Key", "header", description="The moderator key")]),
]
