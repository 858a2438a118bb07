"""HTTP in, HTTP out: CloudFront signed cookies for a video's media (`cdn_signed_cookies`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from core.context import AppContext
from core.deps import current_actor, get_ctx, optional_actor
from core.routing import api_route
from plugins.video.config import VideoSettings
from plugins.video.playback.cdn import KEY_PAIR_ID_COOKIE, POLICY_COOKIE, SIGNATURE_COOKIE
from plugins.video.playback.cdn_cookies import playback_cookies

PREFIX = "/api/v1/upload/videos"
TAGS = ["videos"]
COOKIES_NOTE = (
    "Sets CloudFront's signed cookies (`CloudFront-Policy`, `CloudFront-Signature`, "
    "`CloudFront-Key-Pair-Id`; Secure, HttpOnly, SameSite=Lax, Path=/) opening every object "
    "of the video's processed prefix on the CDN until they expire, for whoever may get the "
    "video by id. No cookie when its media is not served signed (a public video without "
    "cdn_sign_public, or one not completed). Someone else's private video is a 404.")
SET_COOKIE = {"Set-Cookie": f"{POLICY_COOKIE}, {SIGNATURE_COOKIE}, {KEY_PAIR_ID_COOKIE}"}


async def set_playback_cookies(request: Request) -> Response:
    ctx = get_ctx(request)
    settings: VideoSettings = ctx.settings("video")
    actor = (await optional_actor(request) if settings.public_discovery
             else await current_actor(request))
    cookies = await playback_cookies(ctx.state["video"], request.path_params["video_id"], actor)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    for cookie in cookies:
        response.set_cookie(cookie.name, cookie.value, max_age=cookie.max_age,
                            domain=cookie.domain, path=cookie.path, secure=cookie.secure,
                            httponly=cookie.httponly, samesite=cookie.samesite)
    return response


def routes(ctx: AppContext) -> list[BaseRoute]:
    settings: VideoSettings = ctx.settings("video")
    if not settings.cdn_signed_cookies:
        return []
    discovery = "optional_user" if settings.public_discovery else "user"
    return [
        api_route(f"{PREFIX}/{{video_id:uuid_text}}/playback-cookies", set_playback_cookies,
                  methods=["POST"], summary="CloudFront signed cookies for a video's media",
                  description=COOKIES_NOTE, status=204, auth=discovery, errors=[404, 503],
                  response_headers=SET_COOKIE, tags=TAGS),
    ]
