"""HTTP in, HTTP out: parse the request, call the service, render the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import Actor
from core.context import AppContext
from core.deps import current_actor, current_service, get_ctx, optional_actor
from core.errors import ValidationFailed
from core.http import query_int, raw_json, read_json, respond
from core.routing import Param, api_route
from plugins.video.config import VideoSettings
from plugins.video.keys import MediaKind
from plugins.video.models import (
    CreateVideoRequest,
    StatusUpdate,
    UploadUrl,
    UploadUrlRequest,
    VideoIdOut,
    VideoOut,
    upload_request_class,
)
from plugins.video.pagination import (
    CURSOR_MAX_LENGTH,
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Page,
)
from plugins.video.service import VideoService
from plugins.video.states import Status

T = TypeVar("T")
PREFIX = "/api/v1/upload/videos"
TAGS = ["videos"]
INTERNAL_TAGS = ["videos (internal)"]
UPLOAD_NOTE = ("The body is optional (no body: the first allowed type, no declared size). "
               "Send the file with `method` and every header in `headers`, `If-None-Match: *` "
               "among them: the URL writes its key once.")
LINK_HEADER = {"Link": 'The next page: `<...>; rel="next"` (absent on the last page)'}
PAGE_PARAMS = [
    Param("limit", type=int, description=f"Page size, 1-{MAX_LIMIT}",
          schema={"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    Param("cursor", description="The opaque cursor from the previous page's Link header",
          schema={"pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX_LENGTH}),
]


def _service(request: Request) -> VideoService:
    return get_ctx(request).state["video"]


async def _discovery_actor(request: Request) -> Actor | None:
    """Anyone may discover videos, unless `public_discovery` is off."""
    if _service(request).settings.public_discovery:
        return await optional_actor(request)
    return await current_actor(request)


async def _optional_body(request: Request, cls: type[T]) -> T:
    """The JSON body, or the defaults of `cls` when the request has no body at all."""
    if not await request.body():
        return cls()
    return await read_json(request, cls)


def _page_response(request: Request, page: Page, limit: int) -> Response:
    headers = {}
    if page.next_cursor:
        target = f"{request.url.path}?limit={limit}&cursor={page.next_cursor}"
        headers["Link"] = f'<{target}>; rel="next"'
    return raw_json(page.body, headers=headers)


def _limit(request: Request) -> int:
    return query_int(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)


def upload_url_endpoint(
    kind: MediaKind, body_class: type[UploadUrlRequest]
) -> Callable[[Request], Awaitable[Response]]:
    """The upload-url handler of one kind of media, reading its own body class."""

    async def upload_url(request: Request) -> Response:
        actor = await current_actor(request)
        body = await _optional_body(request, body_class)
        return respond(await _service(request).upload_url(actor, body, kind))

    return upload_url


async def create_video(request: Request) -> Response:
    actor = await current_actor(request)
    body = await read_json(request, CreateVideoRequest)
    return respond(await _service(request).create_video(actor, body), status=201)


async def list_public_videos(request: Request) -> Response:
    await _discovery_actor(request)
    limit = _limit(request)
    page = await _service(request).public_page(limit, request.query_params.get("cursor"))
    return _page_response(request, page, limit)


async def list_my_videos(request: Request) -> Response:
    actor = await current_actor(request)
    limit = _limit(request)
    page = await _service(request).owner_page(actor, limit, request.query_params.get("cursor"))
    return _page_response(request, page, limit)


async def get_video(request: Request) -> Response:
    actor = await _discovery_actor(request)
    video_id = request.path_params["video_id"]
    return raw_json(await _service(request).video_json(video_id, actor))


async def video_id_by_key(request: Request) -> Response:
    await current_service(request)
    video_id = await _service(request).video_id_for_key(request.path_params["s3_key"])
    return respond(VideoIdOut(video_id=video_id))


async def update_status(request: Request) -> Response:
    principal = await current_service(request)
    update = await _status_update(request)
    video_id = request.path_params["video_id"]
    return respond(await _service(request).change_status(video_id, update, principal))


async def _status_update(request: Request) -> StatusUpdate:
    """JSON `{status, ...}`, or the seed's `?status=COMPLETED` with no body."""
    query_status = request.query_params.get("status")
    if await request.body():
        update = await read_json(request, StatusUpdate)
        if query_status is not None and query_status != update.status.value:
            raise ValidationFailed.field("status", "the query and the body disagree")
        return update
    if query_status is None:
        raise ValidationFailed.field("status", "give ?status= or a JSON body")
    try:
        return StatusUpdate(status=Status(query_status))
    except ValueError:
        allowed = ", ".join(status.value for status in Status)
        raise ValidationFailed.field("status", f"must be one of {allowed}") from None


def routes(ctx: AppContext) -> list[BaseRoute]:
    settings: VideoSettings = ctx.settings("video")
    discovery = "optional_user" if settings.public_discovery else "user"
    video_body = upload_request_class("VideoUploadUrlRequest",
                                      settings.upload_types(MediaKind.VIDEO),
                                      settings.max_video_bytes)
    thumbnail_body = upload_request_class("ThumbnailUploadUrlRequest",
                                          settings.upload_types(MediaKind.THUMBNAIL),
                                          settings.max_thumbnail_bytes)
    return [
        api_route(f"{PREFIX}/upload-url", upload_url_endpoint(MediaKind.VIDEO, video_body),
                  methods=["POST"], name="video_upload_url",
                  summary="A presigned URL to upload a video to", description=UPLOAD_NOTE,
                  body=video_body, body_required=False, response=UploadUrl, auth="user",
                  errors=[403, 503], tags=TAGS),
        api_route(f"{PREFIX}/thumbnail/upload-url",
                  upload_url_endpoint(MediaKind.THUMBNAIL, thumbnail_body),
                  methods=["POST"], name="thumbnail_upload_url",
                  summary="A presigned URL to upload a thumbnail to", description=UPLOAD_NOTE,
                  body=thumbnail_body, body_required=False, response=UploadUrl, auth="user",
                  errors=[403, 503], tags=TAGS),
        api_route(f"{PREFIX}/metadata", create_video, methods=["POST"],
                  summary="Register an uploaded video", body=CreateVideoRequest,
                  response=VideoOut, status=201, auth="user", errors=[403, 409, 503], tags=TAGS),
        api_route(f"{PREFIX}/", list_public_videos, methods=["GET"],
                  summary="Completed public videos, newest first", response=list[VideoOut],
                  auth=discovery, params=PAGE_PARAMS, errors=[422, 503],
                  response_headers=LINK_HEADER, tags=TAGS),
        api_route(f"{PREFIX}/mine", list_my_videos, methods=["GET"],
                  summary="The caller's own videos in every state, newest first",
                  description="Paginated like the public list (`limit`, `cursor`, `Link`).",
                  response=list[VideoOut], auth="user", params=PAGE_PARAMS, errors=[422, 503],
                  response_headers=LINK_HEADER, tags=TAGS),
        api_route(f"{PREFIX}/by-key/{{s3_key:path}}", video_id_by_key, methods=["GET"],
                  summary="The id of the video stored at an S3 key", response=VideoIdOut,
                  auth="service", errors=[404, 503], tags=INTERNAL_TAGS),
        api_route(f"{PREFIX}/{{video_id:uuid_text}}", get_video, methods=["GET"],
                  summary="A video: completed and public or unlisted, or the caller's own",
                  response=VideoOut, auth=discovery, errors=[404, 503], tags=TAGS),
        api_route(f"{PREFIX}/{{video_id:uuid}}/status", update_status, methods=["PATCH"],
                  summary="Report a processing status (query form or JSON)",
                  description="Either `?status=COMPLETED` with no body, or a JSON body. The "
                              "same status again is an idempotent 200; a transition the state "
                              "machine forbids is a 409 listing the allowed ones.",
                  body=StatusUpdate, body_required=False, response=VideoOut, auth="service",
                  errors=[404, 409, 503],
                  params=[Param("status", description="The seed's form: ?status=COMPLETED",
                                schema={"enum": [status.value for status in Status]})],
                  tags=INTERNAL_TAGS),
    ]
