"""HTTP in, HTTP out: the owner edits a video, reads its history, retries it."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.context import AppContext
from core.deps import current_actor, get_ctx
from core.errors import ValidationFailed
from core.http import page_response, query_int, read_json, respond, structure
from core.routing import Param, api_route
from plugins.video.library.etags import TaggedVideo
from plugins.video.library.models import EDITABLE, EditVideoRequest, HistoryEntry
from plugins.video.library.service import LibraryService
from plugins.video.models import VideoOut
from plugins.video.pagination import CURSOR_MAX_LENGTH, CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT

PREFIX = "/api/v1/upload/videos"
TAGS = ["videos"]
ETAG_HEADER = {"ETag": 'The video\'s entity tag, `"<version>"`: send it back in `If-Match`'}
IF_MATCH = Param(
    "If-Match", location="header",
    description='The ETag the edit was based on (`"<version>"`), several separated by commas, '
                "or `*`; without it the edit applies to the current version",
)
HISTORY_PARAMS = [
    Param("limit", type=int, description=f"Page size, 1-{MAX_LIMIT}",
          schema={"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    Param("cursor", description="The opaque cursor from the previous page's Link header",
          schema={"pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX_LENGTH}),
]
EDIT_NOTE = ("Send only the fields to change (a null `thumbnail_s3_key` removes the "
             "thumbnail); any other member is a 422 naming it. The answer carries the new "
             "ETag. A stale `If-Match` is a 412 whose `current_etag` (and `ETag` header) "
             "names the current one. An edit that changes nothing is a 200 with the same "
             "ETag. Someone else's video is a 404, as a missing one.")
OWNER_NOTE = "Someone else's video is a 404, as a missing one."


def tagged_response(tagged: TaggedVideo, status: int = 200) -> Response:
    """The video, with its ETag."""
    return respond(tagged.video, status=status, headers={"ETag": tagged.etag})


def _library(request: Request) -> LibraryService:
    return LibraryService(get_ctx(request).state["video"])


def edit_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The values an edit body asks for, by field name: only the members it holds (a null
    `thumbnail_s3_key` is a value to set). An unknown member, or none at all, is a 422."""
    unknown = sorted(set(data) - set(EDITABLE))
    if unknown:
        message = f"is not editable; the editable fields are {', '.join(EDITABLE)}"
        raise ValidationFailed([{"field": name, "message": message} for name in unknown])
    if not data:
        raise ValidationFailed.field("(body)", f"name at least one of {', '.join(EDITABLE)}")
    edit = structure(data, EditVideoRequest)
    return {name: getattr(edit, name) for name in EDITABLE if name in data}


async def edit_video(request: Request) -> Response:
    actor = await current_actor(request)
    wanted = edit_fields(await read_json(request, dict))
    tagged = await _library(request).edit(request.path_params["video_id"], actor, wanted,
                                          request.headers.get("if-match"))
    return tagged_response(tagged)


async def video_history(request: Request) -> Response:
    actor = await current_actor(request)
    limit = query_int(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    page = await _library(request).history(request.path_params["video_id"], actor, limit,
                                           request.query_params.get("cursor"))
    return page_response(request, page.body, limit, page.next_cursor)


async def retry_video(request: Request) -> Response:
    actor = await current_actor(request)
    return tagged_response(await _library(request).retry(request.path_params["video_id"], actor))


def routes(ctx: AppContext) -> list[BaseRoute]:
    return [
        api_route(f"{PREFIX}/{{video_id:uuid}}", edit_video, methods=["PATCH"],
                  summary="Edit one of your videos", description=EDIT_NOTE,
                  body=EditVideoRequest, response=VideoOut, auth="user", params=[IF_MATCH],
                  errors=[404, 409, 412, 503], response_headers=ETAG_HEADER, tags=TAGS),
        api_route(f"{PREFIX}/{{video_id:uuid}}/history", video_history, methods=["GET"],
                  summary="The status transitions of one of your videos, oldest first",
                  description=f"Paginated with `limit`, `cursor` and `Link`. {OWNER_NOTE}",
                  response=list[HistoryEntry], auth="user", params=HISTORY_PARAMS,
                  errors=[404, 422, 503], response_headers={
                      "Link": 'The next page: `<...>; rel="next"` (absent on the last page)'},
                  tags=TAGS),
        api_route(f"{PREFIX}/{{video_id:uuid}}/retry", retry_video, methods=["POST"],
                  summary="Send one of your FAILED videos back to processing",
                  description="FAILED → IN_PROGRESS, recorded in the history as `retry` by "
                              f"`user:<your id>`; any other status is a 409. {OWNER_NOTE}",
                  response=VideoOut, auth="user", errors=[404, 409, 503],
                  response_headers=ETAG_HEADER, tags=TAGS),
    ]
