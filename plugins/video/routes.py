"""HTTP in, HTTP out: parse the request, call the service, render the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TypeVar

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import Actor
from core.context import AppContext
from core.deps import client_address, current_actor, current_service, get_ctx, optional_actor
from core.errors import ValidationFailed
from core.http import page_response, query_int, raw_json, read_json, respond
from core.routing import Param, api_route
from plugins.video.config import VideoSettings
from plugins.video.deletion import routes as deletion_routes
from plugins.video.keys import MediaKind
from plugins.video.library import routes as library_routes
from plugins.video.library.routes import ETAG_HEADER, tagged_response
from plugins.video.listing import (
    LISTING_PARAMETERS,
    PUBLIC_LISTING_PARAMETERS,
    SORTS,
    parse_listing,
)
from plugins.video.live import routes as live_routes
from plugins.video.models import (
    CreateVideoRequest,
    StatusUpdate,
    UploadUrl,
    UploadUrlRequest,
    VideoIdOut,
    VideoOut,
    upload_request_class,
)
from plugins.video.multipart import routes as multipart_routes
from plugins.video.pagination import (
    CURSOR_PATTERN,
    DEFAULT_LIMIT,
    LISTING_CURSOR_MAX_LENGTH,
    MAX_LIMIT,
    Page,
)
from plugins.video.quotas import routes as quota_routes
from plugins.video.search import MAX_QUERY_LENGTH
from plugins.video.service import VideoService
from plugins.video.states import Status
from plugins.video.transcoding import routes as transcoding_routes

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
          schema={"pattern": CURSOR_PATTERN, "maxLength": LISTING_CURSOR_MAX_LENGTH}),
    Param("sort", description="newest (default) or oldest first by creation, or by title; "
                              "relevance (best match first, the default with q, which it "
                              "needs); ties in id order",
          schema={"enum": SORTS, "default": SORTS[0]}),
    Param("q", description="Full-text search of titles and descriptions: words, "
                           '"phrases", -exclusions, or (docs/video.md, Search)',
          schema={"minLength": 1, "maxLength": MAX_QUERY_LENGTH}),
    Param("created_after", description="Only videos created at or after this RFC 3339 time",
          schema={"format": "date-time"}),
    Param("created_before", description="Only videos created before this RFC 3339 time",
          schema={"format": "date-time"}),
]
PUBLIC_PAGE_PARAMS = [
    *PAGE_PARAMS,
    Param("user_id", description="Only the videos of this uploader", schema={"minLength": 1}),
]
STRICT_NOTE = "Unknown or repeated query parameters are refused (422)."


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
    """The page, linking to the next one in the same order with the same filters."""
    kept = [(name, value) for name, value in request.query_params.multi_items()
            if name not in ("limit", "cursor")]
    return page_response(request, page.body, limit, page.next_cursor, kept)


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
    return tagged_response(await _service(request).create_video(actor, body), status=201)


async def list_public_videos(request: Request) -> Response:
    await _discovery_actor(request)
    listing = parse_listing(request.query_params.multi_items(), PUBLIC_LISTING_PARAMETERS)
    limit = _limit(request)
    page = await _service(request).public_page(limit, listing)
    return _page_response(request, page, limit)


async def list_my_videos(request: Request) -> Response:
    actor = await current_actor(request)
    listing = parse_listing(request.query_params.multi_items(), LISTING_PARAMETERS)
    limit = _limit(request)
    page = await _service(request).owner_page(actor, limit, listing)
    return _page_response(request, page, limit)


async def list_uploader_videos(request: Request) -> Response:
    await _discovery_actor(request)
    listing = parse_listing(request.query_params.multi_items(), LISTING_PARAMETERS)
    limit = _limit(request)
    page = await _service(request).uploader_page(request.path_params["user_id"], limit, listing)
    return _page_response(request, page, limit)


async def get_video(request: Request) -> Response:
    actor = await _discovery_actor(request)
    video_id = request.path_params["video_id"]
    service = _service(request)
    # the address costs microseconds (a proxy's header parsed): asked for only when needed
    client = partial(client_address, request) if service.views is not None else None
    body, etag = await service.video_json(video_id, actor, client)
    return raw_json(body, headers={"ETag": etag} if etag else None)


async def video_id_by_key(request: Request) -> Response:
    await current_service(request)
    found = await _service(request).video_for_key(request.path_params["s3_key"])
    return raw_json(video_id_json(found))


def video_id_json(found: VideoIdOut) -> bytes:
    """`VideoIdOut` as the JSON converter writes it, built directly: the converter's
    generic walk cost three times as much."""
    checksum = found.checksum
    return orjson.dumps({
        "video_id": str(found.video_id),
        "checksum": None if checksum is None else {"algorithm": checksum.algorithm,
                                                   "value": checksum.value},
    })


async def update_status(request: Request) -> Response:
    principal = await current_service(request)
    update = await _status_update(request)
    video_id = request.path_params["video_id"]
    return tagged_response(await transcoding_routes.transcoding(request).report(
        video_id, update, principal, transcoding_routes.lease_token(request)))


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
    # The reads every visitor makes come first: a request tries the routes of its path in
    # order, and each route of the same path but another method it passes costs a match.
    return [
        api_route(f"{PREFIX}/upload-url", upload_url_endpoint(MediaKind.VIDEO, video_body),
                  methods=["POST"], name="video_upload_url",
                  summary="A presigned URL to upload a video to", description=UPLOAD_NOTE,
                  body=video_body, body_required=False, response=UploadUrl, auth="user",
                  errors=[403, 429, 503], tags=TAGS),
        api_route(f"{PREFIX}/thumbnail/upload-url",
                  upload_url_endpoint(MediaKind.THUMBNAIL, thumbnail_body),
                  methods=["POST"], name="thumbnail_upload_url",
                  summary="A presigned URL to upload a thumbnail to", description=UPLOAD_NOTE,
                  body=thumbnail_body, body_required=False, response=UploadUrl, auth="user",
                  errors=[403, 429, 503], tags=TAGS),
        api_route(f"{PREFIX}/metadata", create_video, methods=["POST"],
                  summary="Register an uploaded video", body=CreateVideoRequest,
                  response=VideoOut, status=201, auth="user", errors=[403, 409, 503],
                  response_headers=ETAG_HEADER, tags=TAGS),
        api_route(f"{PREFIX}/", list_public_videos, methods=["GET"],
                  summary="Completed public videos, newest first", description=STRICT_NOTE,
                  response=list[VideoOut], auth=discovery, params=PUBLIC_PAGE_PARAMS,
                  errors=[422, 503], response_headers=LINK_HEADER, tags=TAGS),
        api_route(f"{PREFIX}/mine", list_my_videos, methods=["GET"],
                  summary="The caller's own videos in every state, newest first",
                  description="Paginated, sorted and filtered like the public list (`limit`, "
                              f"`cursor`, `sort`, dates, `Link`). {STRICT_NOTE}",
                  response=list[VideoOut], auth="user", params=PAGE_PARAMS, errors=[422, 503],
                  response_headers=LINK_HEADER, tags=TAGS),
        api_route("/api/v1/users/{user_id}/videos", list_uploader_videos, methods=["GET"],
                  summary="One uploader's completed public videos, newest first",
                  description="Paginated, sorted and filtered like the public list (`limit`, "
                              f"`cursor`, `sort`, dates, `Link`). {STRICT_NOTE}",
                  response=list[VideoOut], auth=discovery, params=PAGE_PARAMS,
                  errors=[422, 503], response_headers=LINK_HEADER, tags=TAGS),
        api_route(f"{PREFIX}/by-key/{{s3_key:path}}", video_id_by_key, methods=["GET"],
                  summary="The video stored at an S3 key, and its checksum", response=VideoIdOut,
                  auth="service", errors=[404, 503], tags=INTERNAL_TAGS),
        api_route(f"{PREFIX}/{{video_id:uuid_text}}", get_video, methods=["GET"],
                  summary="A video: completed and public or unlisted, or the caller's own",
                  response=VideoOut, auth=discovery, errors=[404, 503],
                  response_headers=ETAG_HEADER, tags=TAGS),
        api_route(f"{PREFIX}/{{video_id:uuid}}/status", update_status, methods=["PATCH"],
                  summary="Report a processing status (query form or JSON)",
                  description="Either `?status=COMPLETED` with no body, or a JSON body. The "
                              "same status again is an idempotent 200; a transition the state "
                              "machine forbids is a 409 listing the allowed ones. A body with "
                              "`progress` and `stage` is a progress report (409 unless the "
                              "video is IN_PROGRESS). While a lease is live, only a report "
                              "carrying its `Lease-Token` is accepted (409 otherwise).",
                  body=StatusUpdate, body_required=False, response=VideoOut, auth="service",
                  errors=[404, 409, 422, 503], response_headers=ETAG_HEADER,
                  params=[Param("status", description="The seed's form: ?status=COMPLETED",
                                schema={"enum": [status.value for status in Status]}),
                          transcoding_routes.LEASE_TOKEN_PARAM],
                  tags=INTERNAL_TAGS),
        *library_routes.routes(ctx),
        *deletion_routes.routes(ctx),
        *quota_routes.routes(ctx),
        *multipart_routes.routes(ctx),
        *live_routes.routes(ctx),
        *transcoding_routes.routes(),
    ]
