"""HTTP in, HTTP out: the owner's share links, and the video a link opens."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.context import AppContext
from core.deps import client_address, current_actor, get_ctx
from core.errors import Problem
from core.http import page_response, query_int, raw_json, read_json, respond
from core.routing import Param, api_route
from plugins.video.config import VideoSettings
from plugins.video.pagination import CURSOR_MAX_LENGTH, CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT
from plugins.video.playback.manifest import MASTER_PATH, PLAYLISTS_DIR
from plugins.video.playback.routes import CACHE_HEADER, MEDIA_TYPE
from plugins.video.playback.routes import STATE_KEY as PLAYBACK_STATE_KEY
from plugins.video.shares.models import (
    CreateShareRequest,
    ShareCreated,
    SharedVideoOut,
    ShareOut,
    create_request_class,
)
from plugins.video.shares.playback import shared_playlist
from plugins.video.shares.service import SHARED_PATH, ShareService
from plugins.video.shares.tokens import TOKEN_LENGTH, TOKEN_PATTERN

PREFIX = "/api/v1/upload/videos"
TAGS = ["share links"]
STATE_KEY = "video_shares"
# A shared answer is for its holder only: kept by no cache, its URL sent to no other site.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
OWNER_NOTE = "Someone else's video is a 404, as a missing one."
CREATE_NOTE = (
    "A link anyone holding it may open without signing in, until it expires, is revoked or "
    "has no views left. Only for a PRIVATE or UNLISTED video (a PUBLIC one is a 409). The "
    "token is shown this once: only its hash is kept. A video has at most "
    "`share_max_live_per_video` live links (100 by default; one more is a 409). " + OWNER_NOTE)
LIST_NOTE = ("Every link of the video, without its token, with its state; paginated with "
             f"`limit`, `cursor` and `Link`. {OWNER_NOTE}")
REVOKE_NOTE = ("The link stops working at once, on every worker. Revoking it again is a 204; "
               f"a link the video does not have is a 404. {OWNER_NOTE}")
OPEN_NOTE = (
    "The video as an anonymous viewer of an unlisted one sees it (playback and thumbnail "
    "URLs once it is completed; with an `hls` output, the playback URL is the link's own "
    "manifest route below), and what is left of the link. Each answer counts one view. "
    "An unknown, malformed, expired, revoked or used-up token, or a deleted video, are the "
    "same 404. Never cached (`Cache-Control: no-store`); rate-limited per client address.")
PAGE_PARAMS = [
    Param("limit", type=int, description=f"Page size, 1-{MAX_LIMIT}",
          schema={"minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    Param("cursor", description="The opaque cursor from the previous page's Link header",
          schema={"pattern": CURSOR_PATTERN, "maxLength": CURSOR_MAX_LENGTH}),
]
LINK_HEADER = {"Link": 'The next page: `<...>; rel="next"` (absent on the last page)'}
PRIVATE_HEADER_NOTES = {"Cache-Control": "`no-store`: no cache may keep the answer",
                        "Referrer-Policy": "`no-referrer`: the link is sent to no other site"}
PLAYLIST_HEADER_NOTES = {**CACHE_HEADER, "Referrer-Policy": PRIVATE_HEADER_NOTES[
    "Referrer-Policy"]}
TOKEN_PARAM = Param("token", location="path", required=True,
                    description="The share link's token",
                    schema={"pattern": TOKEN_PATTERN, "minLength": TOKEN_LENGTH,
                            "maxLength": TOKEN_LENGTH})
PLAYLIST_PATH_PARAM = Param("path", location="path",
                            description="The playlist's key after the video's processed "
                                        "prefix, ending in .m3u8",
                            schema={"pattern": r"^[^/].*\.m3u8$"})
SHARED_ACCESS_NOTE = (
    "For a link that is not revoked or expired and was opened at least once (GET "
    "/api/v1/shared/{token} counts the views; these requests count none, so a link used up "
    "by its last open still plays). Anything else, an unknown token or a video without HLS "
    "playback included, is the same 404 as an open's. Rate-limited with the opens. ")
SHARED_MASTER_NOTE = (SHARED_ACCESS_NOTE + "The video's HLS master playlist as its owner "
                      "gets it, each variant pointing at the playlist route below (relative "
                      "URIs). docs/shares.md.")
SHARED_PLAYLIST_NOTE = (SHARED_ACCESS_NOTE + "A playlist under the video's processed prefix, "
                        "every segment, initialisation section and key URI signed as for its "
                        "owner; `path` is a .m3u8 path with no `..` (422 otherwise). "
                        "docs/shares.md.")


def _shares(request: Request) -> ShareService:
    return get_ctx(request).state[STATE_KEY]


def create_endpoint(
    body_class: type[CreateShareRequest],
) -> Callable[[Request], Awaitable[Response]]:
    """The create handler, reading the body class that publishes the configured limits."""

    async def create_share(request: Request) -> Response:
        actor = await current_actor(request)
        body = await read_json(request, body_class)
        created = await _shares(request).create(actor, request.path_params["video_id"], body)
        return respond(created, status=201, headers=PRIVATE_HEADERS)

    return create_share


async def list_shares(request: Request) -> Response:
    actor = await current_actor(request)
    limit = query_int(request, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    page = await _shares(request).page(actor, request.path_params["video_id"], limit,
                                       request.query_params.get("cursor"))
    return page_response(request, page.body, limit, page.next_cursor)


async def revoke_share(request: Request) -> Response:
    actor = await current_actor(request)
    await _shares(request).revoke(actor, request.path_params["video_id"],
                                  request.path_params["share_id"])
    return Response(status_code=204)


async def open_shared(request: Request) -> Response:
    try:
        body = await _shares(request).open(request.path_params["token"],
                                           client_address(request))
    except Problem as refused:  # the 404 and the 429 are no more cacheable than the video
        refused.headers.update(PRIVATE_HEADERS)
        raise
    return raw_json(body, headers=PRIVATE_HEADERS)


async def _shared_playlist(request: Request, path: str | None) -> Response:
    ctx = get_ctx(request)
    try:
        playlist = await shared_playlist(_shares(request), ctx.state[PLAYBACK_STATE_KEY],
                                         request.path_params["token"], client_address(request),
                                         path)
    except Problem as refused:
        refused.headers.update(PRIVATE_HEADERS)
        raise
    return Response(playlist.body, media_type=MEDIA_TYPE, headers={
        "Cache-Control": f"private, max-age={playlist.max_age}",
        "Referrer-Policy": "no-referrer"})


async def shared_master_playlist(request: Request) -> Response:
    return await _shared_playlist(request, None)


async def shared_media_playlist(request: Request) -> Response:
    return await _shared_playlist(request, request.path_params["path"])


def routes(ctx: AppContext) -> list[BaseRoute]:
    settings: VideoSettings = ctx.settings("video")
    create_body = create_request_class(settings.share_max_expires_seconds,
                                       settings.share_max_views)
    shares = f"{PREFIX}/{{video_id:uuid}}/shares"
    return [
        api_route(f"{SHARED_PATH}/{{token}}", open_shared, methods=["GET"],
                  summary="The video a share link opens", description=OPEN_NOTE,
                  response=SharedVideoOut, errors=[404, 429, 503], tags=TAGS,
                  response_headers=PRIVATE_HEADER_NOTES, params=[TOKEN_PARAM]),
        api_route(f"{SHARED_PATH}/{{token}}/{MASTER_PATH}", shared_master_playlist,
                  methods=["GET"], summary="The HLS master playlist of a shared video",
                  description=SHARED_MASTER_NOTE, response=str, response_media_type=MEDIA_TYPE,
                  errors=[404, 429, 503], response_headers=PLAYLIST_HEADER_NOTES, tags=TAGS,
                  params=[TOKEN_PARAM]),
        api_route(f"{SHARED_PATH}/{{token}}/{PLAYLISTS_DIR}/{{path:path}}", shared_media_playlist,
                  methods=["GET"], summary="One of a shared video's HLS playlists, URIs signed",
                  description=SHARED_PLAYLIST_NOTE, response=str,
                  response_media_type=MEDIA_TYPE, errors=[404, 422, 429, 503],
                  response_headers=PLAYLIST_HEADER_NOTES, tags=TAGS,
                  params=[TOKEN_PARAM, PLAYLIST_PATH_PARAM]),
        api_route(shares, create_endpoint(create_body), methods=["POST"], name="share_create",
                  summary="Make a share link to one of your videos", description=CREATE_NOTE,
                  body=create_body, response=ShareCreated, status=201, auth="user",
                  errors=[404, 409, 503], response_headers=PRIVATE_HEADER_NOTES, tags=TAGS),
        api_route(shares, list_shares, methods=["GET"],
                  summary="The share links of one of your videos, newest first",
                  description=LIST_NOTE, response=list[ShareOut], auth="user",
                  params=PAGE_PARAMS, errors=[404, 422, 503], response_headers=LINK_HEADER,
                  tags=TAGS),
        api_route(f"{shares}/{{share_id:uuid}}", revoke_share, methods=["DELETE"],
                  summary="Revoke a share link", description=REVOKE_NOTE, status=204,
                  auth="user", errors=[404, 503], tags=TAGS),
    ]
