"""HTTP in, HTTP out: a user's usage against the quotas."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.context import AppContext
from core.deps import current_actor, get_ctx
from core.http import respond
from core.routing import api_route
from plugins.video.quotas.models import QuotaUsage

PREFIX = "/api/v1/upload/videos"
TAGS = ["videos"]
QUOTA_NOTE = ("Videos and stored bytes count the caller's registered videos (a deleted one no "
              "longer counts); upload URLs count those handed out in the current hour, video "
              "and thumbnail alike. A null limit is no limit.")


async def quota_usage(request: Request) -> Response:
    actor = await current_actor(request)
    return respond(await get_ctx(request).state["video"].quotas.usage(actor.id))


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [
        api_route(f"{PREFIX}/quota", quota_usage, methods=["GET"],
                  summary="Your usage against the upload quotas", description=QUOTA_NOTE,
                  response=QuotaUsage, auth="user", errors=[503], tags=TAGS),
    ]
