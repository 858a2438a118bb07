"""HTTP in, HTTP out: the owner deletes a video."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.context import AppContext
from core.deps import current_actor, get_ctx
from core.routing import api_route
from plugins.video.deletion.worker import deletions

PREFIX = "/api/v1/upload/videos"
TAGS = ["videos"]
DELETE_NOTE = ("The video leaves every listing and read at once; its S3 objects (upload, "
               "processed outputs, thumbnail) are removed by background work. Its key can "
               "never be registered again; its share links stop working at once. Someone "
               "else's video is a 404, as a missing one.")


async def delete_video(request: Request) -> Response:
    actor = await current_actor(request)
    service = deletions(get_ctx(request)).service
    await service.delete_video(request.path_params["video_id"], actor)
    return Response(status_code=204)


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [
        api_route(f"{PREFIX}/{{video_id:uuid}}", delete_video, methods=["DELETE"],
                  summary="Delete one of your videos", description=DELETE_NOTE, status=204,
                  auth="user", errors=[404, 409, 503], tags=TAGS),
    ]
