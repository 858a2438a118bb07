"""HTTP in, HTTP out: multipart uploads, started, resumed, completed or aborted by their owner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.context import AppContext
from core.deps import current_actor, get_ctx
from core.http import query_int, read_json, respond
from core.routing import Param, api_route
from plugins.video.config import VideoSettings
from plugins.video.keys import MediaKind
from plugins.video.multipart.models import (
    CompletedUpload,
    CompleteRequest,
    CreateMultipartRequest,
    MultipartUpload,
    MultipartUploadStatus,
    PartsRequest,
    PartUrls,
    create_request_class,
)
from plugins.video.multipart.parts import MAX_PARTS
from plugins.video.multipart.service import MultipartService

PREFIX = "/api/v1/upload/videos/multipart"
TAGS = ["videos"]
STATE_KEY = "video_multipart"
CREATE_NOTE = (
    "Starts an S3 multipart upload of the declared size under your own prefix (counted "
    "against the upload quotas like an upload URL). PUT each part to its URL with every "
    "header listed. Without a checksum algorithm the answer carries the URLs of the first "
    "batch of parts; with one, ask for each part's URL with its checksum "
    "(`POST …/{upload_id}/parts`), and S3 refuses a body that does not match. Then "
    "complete it and register `s3_key` with `POST /api/v1/upload/videos/metadata`.")
STATUS_NOTE = (
    "The parts S3 holds and fresh URLs for the first batch of missing ones (none when a "
    "checksum algorithm was declared): resume after a crash or on another device. A "
    "completed upload lists no parts. Someone else's, an aborted or an expired upload is "
    "a 404.")
PARTS_NOTE = (
    "URLs for the parts named (at most `multipart_url_batch` a request, 100 by default), "
    "each bound to its length and, when the upload declared an algorithm, to its checksum "
    "(required then, refused otherwise).")
COMPLETE_NOTE = (
    "Assembles the parts once every one is uploaded and their sizes add up to the declared "
    "size (else 422 naming `size_bytes` or `parts`, and the upload stays open to fix). "
    "Without a body, the parts S3 lists are used (browsers cannot always read ETags). "
    "Completing a completed upload answers the same again. Register the key next with "
    "`POST /api/v1/upload/videos/metadata`.")
ABORT_NOTE = ("Aborts the upload and drops its parts. Aborting again is a 204; a completed "
              "upload is a 409 (delete the video instead).")


def _service(request: Request) -> MultipartService:
    return get_ctx(request).state[STATE_KEY]


def create_endpoint(
    body_class: type[CreateMultipartRequest],
) -> Callable[[Request], Awaitable[Response]]:
    """The create handler, reading the body class that publishes the configured types."""

    async def create_upload(request: Request) -> Response:
        actor = await current_actor(request)
        body = await read_json(request, body_class)
        return respond(await _service(request).create(actor, body), status=201)

    return create_upload


async def upload_status(request: Request) -> Response:
    actor = await current_actor(request)
    start = None
    if "from" in request.query_params:
        start = query_int(request, "from", 1, minimum=1, maximum=MAX_PARTS)
    return respond(await _service(request).status(actor, request.path_params["upload_id"],
                                                  start))


async def part_urls(request: Request) -> Response:
    actor = await current_actor(request)
    body = await read_json(request, PartsRequest)
    return respond(await _service(request).part_urls(actor, request.path_params["upload_id"],
                                                     body))


async def complete_upload(request: Request) -> Response:
    actor = await current_actor(request)
    body = await read_json(request, CompleteRequest) if await request.body() \
        else CompleteRequest()
    return respond(await _service(request).complete(actor, request.path_params["upload_id"],
                                                    body))


async def abort_upload(request: Request) -> Response:
    actor = await current_actor(request)
    await _service(request).abort(actor, request.path_params["upload_id"])
    return Response(status_code=204)


def routes(ctx: AppContext) -> list[BaseRoute]:
    settings: VideoSettings = ctx.settings("video")
    create_body = create_request_class(settings.upload_types(MediaKind.VIDEO),
                                       settings.max_video_bytes)
    one = f"{PREFIX}/{{upload_id:uuid}}"
    return [
        api_route(PREFIX, create_endpoint(create_body), methods=["POST"], name="multipart_create",
                  summary="Start a resumable multipart upload of a video",
                  description=CREATE_NOTE, body=create_body, response=MultipartUpload,
                  status=201, auth="user", errors=[403, 429, 503], tags=TAGS),
        api_route(one, upload_status, methods=["GET"], name="multipart_status",
                  summary="A multipart upload as it stands, to resume it",
                  description=STATUS_NOTE, response=MultipartUploadStatus, auth="user",
                  params=[Param("from", type=int, description=(
                      "Start the batch of URLs at this part number"),
                      schema={"minimum": 1, "maximum": MAX_PARTS})],
                  errors=[404, 409, 422, 503], tags=TAGS),
        api_route(one, abort_upload, methods=["DELETE"], name="multipart_abort",
                  summary="Abort a multipart upload", description=ABORT_NOTE, status=204,
                  auth="user", errors=[404, 409, 503], tags=TAGS),
        api_route(f"{one}/parts", part_urls, methods=["POST"], name="multipart_part_urls",
                  summary="URLs for parts of a multipart upload", description=PARTS_NOTE,
                  body=PartsRequest, response=PartUrls, auth="user",
                  errors=[404, 409, 503], tags=TAGS),
        api_route(f"{one}/complete", complete_upload, methods=["POST"],
                  name="multipart_complete", summary="Complete a multipart upload",
                  description=COMPLETE_NOTE, body=CompleteRequest, body_required=False,
                  response=CompletedUpload, auth="user",
                  errors=[404, 409, 503], tags=TAGS),
    ]

