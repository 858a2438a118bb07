"""HTTP in, HTTP out: a video's HLS playlists, rewritten for the caller."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.auth import Actor
from core.context import AppContext
from core.deps import current_actor, get_ctx, optional_actor
from core.routing import Param, api_route
from plugins.video.config import VideoSettings
from plugins.video.playback.paths import MANIFEST_ROUTE, PLAYLIST_ROUTE
from plugins.video.playback.service import PlaybackService, PlaylistBody

STATE_KEY = "video.playback"
TAGS = ["videos"]
MEDIA_TYPE = "application/vnd.apple.mpegurl"
CACHE_HEADER = {"Cache-Control": "`private, max-age=N`: N is at most the time the URLs inside "
                                 "stay valid"}
ACCESS_NOTE = ("Who may read it: as for the video itself (completed and public or unlisted, "
               "or the caller's own); anyone else gets the 404 of an unknown id. ")
MANIFEST_NOTE = (ACCESS_NOTE + "The master playlist of the video's `hls` output, each "
                 "variant and alternate rendition pointing at the playlist route below "
                 "(relative URIs). docs/playback.md.")
PLAYLIST_NOTE = (ACCESS_NOTE + "A playlist under the video's processed prefix, every segment, "
                 "initialisation section and key URI presigned for GET on the processed "
                 "bucket; `path` is a .m3u8 path with no `..` (422 otherwise), 404 when no "
                 "such playlist is stored. docs/playback.md.")


def playback(request: Request) -> PlaybackService:
    return get_ctx(request).state[STATE_KEY]


async def _viewer(request: Request, service: PlaybackService) -> Actor | None:
    """As discovery: anyone, unless `public_discovery` is off."""
    if service.settings.public_discovery:
        return await optional_actor(request)
    return await current_actor(request)


def _playlist_response(playlist: PlaylistBody) -> Response:
    return Response(playlist.body, media_type=MEDIA_TYPE,
                    headers={"Cache-Control": f"private, max-age={playlist.max_age}"})


async def master_playlist(request: Request) -> Response:
    service = playback(request)
    video_id = uuid.UUID(str(request.path_params["video_id"]))
    video = await service.visible_video(video_id, await _viewer(request, service))
    return _playlist_response(await service.manifest(video))


async def media_playlist(request: Request) -> Response:
    service = playback(request)
    video_id = uuid.UUID(str(request.path_params["video_id"]))
    video = await service.visible_video(video_id, await _viewer(request, service))
    return _playlist_response(await service.manifest(video, request.path_params["path"]))


def routes(ctx: AppContext) -> list[BaseRoute]:
    settings: VideoSettings = ctx.settings("video")
    auth = "optional_user" if settings.public_discovery else "user"
    return [
        api_route(MANIFEST_ROUTE.replace("{video_id}", "{video_id:uuid}"), master_playlist,
                  methods=["GET"], summary="A video's HLS master playlist",
                  description=MANIFEST_NOTE, response=str, response_media_type=MEDIA_TYPE,
                  auth=auth, errors=[404, 503], response_headers=CACHE_HEADER, tags=TAGS),
        api_route(PLAYLIST_ROUTE.replace("{video_id}", "{video_id:uuid}")
                  .replace("{path}", "{path:path}"), media_playlist,
                  methods=["GET"], summary="One of a video's HLS playlists, URIs presigned",
                  description=PLAYLIST_NOTE, response=str, response_media_type=MEDIA_TYPE,
                  auth=auth, errors=[404, 422, 503], response_headers=CACHE_HEADER,
                  params=[Param("path", location="path",
                                description="The playlist's key after the video's processed "
                                            "prefix, ending in .m3u8",
                                schema={"pattern": r"^[^/].*\.m3u8$"})],
                  tags=TAGS),
    ]
