"""The video plugin: presigned uploads, metadata, discovery and the transcoder's status API."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import pluggy
from piccolo.conf.apps import AppConfig
from starlette.routing import BaseRoute

from core.config import Config
from core.context import AppContext
from core.db import engine_kind
from core.plugins import hookimpl
from plugins.video import (
    client_hookspecs,
    commands,
    hookspecs,
    routes,
    search,
    transcoder_command,
)
from plugins.video.config import VideoSettings, settings_problems
from plugins.video.deletion import worker as deletion_worker
from plugins.video.event_schemas import EVENT_SCHEMAS
from plugins.video.janitor import task as janitor_task
from plugins.video.multipart import routes as multipart_routes
from plugins.video.multipart.service import MultipartService
from plugins.video.piccolo_app import APP_CONFIG
from plugins.video.playback import cdn_routes
from plugins.video.playback import routes as playback_routes
from plugins.video.playback.cdn import cdn_signer
from plugins.video.playback.service import PlaybackService
from plugins.video.service import VideoService
from plugins.video.shares import routes as share_routes
from plugins.video.shares.service import ShareService
from plugins.video.storage import Buckets, VideoStorage
from plugins.video.tables import Video
from plugins.video.transcoding import routes as transcoding_routes
from plugins.video.transcoding import sweeper as lease_sweeper
from plugins.video.transcoding.service import TranscodingService
from plugins.video.views import flusher as view_flusher

NAME = "video"


@hookimpl
def register_hookspecs(pm: pluggy.PluginManager) -> None:
    pm.add_hookspecs(hookspecs)
    pm.add_hookspecs(client_hookspecs)


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: VideoSettings,
            transcoder_command.SECTION: transcoder_command.TranscoderExampleSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    return settings_problems(settings[NAME], production=config.is_production)


@hookimpl
def register_commands(subparsers: Any) -> None:
    transcoder_command.add_command(subparsers)
    commands.add_commands(subparsers)


@hookimpl
def event_schemas() -> dict[str, dict[str, Any]]:
    return EVENT_SCHEMAS


@hookimpl
def register_piccolo_app() -> AppConfig:
    return APP_CONFIG


@hookimpl
def register_routes(ctx: AppContext) -> list[BaseRoute]:
    return [*routes.routes(ctx), *playback_routes.routes(ctx), *share_routes.routes(ctx),
            *cdn_routes.routes(ctx)]


@hookimpl
async def startup(ctx: AppContext) -> None:
    settings: VideoSettings = ctx.settings(NAME)
    engine = Video._meta.db
    if engine_kind(engine) == "postgres":
        await search.check_postgres_search(engine, settings.search_config)
    aws = ctx.aws
    assert aws is not None
    buckets = Buckets(
        raw=settings.raw_bucket or aws.resource("s3_raw_bucket", "itube-raw-videos"),
        thumbnails=settings.thumbnails_bucket
        or aws.resource("s3_thumbnails_bucket", "itube-video-thumbnails"),
        processed=settings.processed_bucket
        or aws.resource("s3_processed_bucket", "itube-processed-videos"),
    )

    def make_storage() -> VideoStorage:
        # a client costs ~10 ms, resolving credentials may be a network call, and the
        # presigner's check against botocore signs a dozen URLs: all off the event loop
        return VideoStorage(aws.client("s3"), buckets, settings, credentials=aws.credentials(),
                            cdn=cdn_signer(settings))

    storage = await anyio.to_thread.run_sync(make_storage)
    ctx.state[NAME] = VideoService(ctx, storage, settings)
    ctx.state[multipart_routes.STATE_KEY] = MultipartService(ctx.state[NAME])
    ctx.state[transcoding_routes.STATE_KEY] = TranscodingService(ctx.state[NAME])
    ctx.state[playback_routes.STATE_KEY] = PlaybackService(ctx.state[NAME])
    ctx.state[share_routes.STATE_KEY] = ShareService(ctx.state[NAME])
    await deletion_worker.start(ctx, ctx.state[NAME])
    await view_flusher.start(ctx, ctx.state[NAME].views, settings.view_flush_seconds)
    await janitor_task.start(ctx, ctx.state[NAME])
    await lease_sweeper.start(ctx, ctx.state[transcoding_routes.STATE_KEY])


@hookimpl
async def shutdown(ctx: AppContext) -> None:
    await deletion_worker.stop(ctx)
    await view_flusher.stop(ctx)
    await janitor_task.stop(ctx)
    await lease_sweeper.stop(ctx)
