"""`/demo` and its static files, served with a Content-Security-Policy that lets the page
talk to this API, the S3 endpoint and the CDN, and nothing else."""

from __future__ import annotations

from pathlib import Path

import attrs
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.context import AppContext
from core.errors import NotFound

STATIC = Path(__file__).parent / "static"
PAGE_PATH = "/demo"
STATIC_PATH = "/demo/static"
# The files under static/ the page loads, and their types; nothing else is served.
STATIC_TYPES = {
    "demo.js": "text/javascript; charset=utf-8",
    "player.js": "text/javascript; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
    # hls.js 1.7.4 (light build) from the npm registry, unchanged: docs/uploads.md.
    "hls.light.min.js": "text/javascript; charset=utf-8",
}
# Where presigned S3 URLs point when no endpoint is configured (real AWS).
AWS_ORIGINS = "https://*.amazonaws.com"


@attrs.frozen
class StaticFile:
    body: bytes
    media_type: str


def demo_routes(ctx: AppContext) -> list[BaseRoute]:
    page = StaticFile((STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
    files = {name: StaticFile((STATIC / name).read_bytes(), media_type)
             for name, media_type in STATIC_TYPES.items()}

    async def demo_page(request: Request) -> Response:
        return _serve(page, content_security_policy(ctx))

    async def demo_static(request: Request) -> Response:
        found = files.get(request.path_params["name"])
        if found is None:
            raise NotFound("The demo page has no such file")
        return _serve(found, content_security_policy(ctx))

    return [
        Route(PAGE_PATH, demo_page, methods=["GET"], include_in_schema=False),
        Route(f"{STATIC_PATH}/{{name}}", demo_static, methods=["GET"], include_in_schema=False),
    ]


def content_security_policy(ctx: AppContext) -> str:
    """Scripts and styles from this origin only; fetches to this API, to S3 (the presigned
    part uploads, HLS segments) and to the CDN serving videos; media from S3 or a CDN over
    HTTPS, or from a `blob:` URL (hls.js feeds the player through Media Source Extensions);
    no workers (hls.js runs without one), frames, forms or plugins."""
    endpoint = ctx.aws.endpoint_url if ctx.aws is not None else None
    s3 = _origin(endpoint) if endpoint else AWS_ORIGINS
    connect = " ".join(["'self'", s3, *_cdn_origins(ctx)])
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src {connect}",
        f"media-src 'self' {s3} https: blob:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


def _cdn_origins(ctx: AppContext) -> list[str]:
    """The origin of the CDN serving videos (`[plugins.video] playback_base_url`), if any:
    hls.js fetches a CDN's playlists and segments, where a plain `<video>` only loaded
    media. Read by name, as the video plugin is not imported here."""
    settings = ctx.plugin_settings.get("video")
    base = getattr(settings, "playback_base_url", "") if settings is not None else ""
    return [_origin(base)] if base else []


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _serve(file: StaticFile, policy: str) -> Response:
    return Response(file.body, media_type=file.media_type, headers={
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        # Presigned URLs must never travel in a Referer header.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    })
