"""The janitor as a lifespan task of the app, and as `itube videos janitor`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import anyio
import attrs
from starlette.applications import Starlette

from core.config import Config
from core.context import AppContext
from plugins.video.config import VideoSettings
from plugins.video.janitor.service import Janitor
from plugins.video.service import VideoService

STATE_KEY = "video.janitor"


@attrs.define
class RunningJanitor:
    """The app's janitor and its background task, kept in `ctx.state[STATE_KEY]`."""

    janitor: Janitor
    stop: anyio.Event = attrs.Factory(anyio.Event)
    task: asyncio.Task[None] | None = None


async def start(ctx: AppContext, videos: VideoService) -> None:
    """Make the app's janitor, and sweep in the background unless
    `janitor_interval_seconds` is 0."""
    settings = videos.settings
    running = RunningJanitor(Janitor(videos.storage.s3, videos.storage.buckets,
                                     settings.orphan_upload_seconds))
    if settings.janitor_interval_seconds > 0:
        running.task = asyncio.create_task(
            running.janitor.run_forever(settings.janitor_interval_seconds, running.stop),
            name="video-janitor",
        )
    ctx.state[STATE_KEY] = running


async def stop(ctx: AppContext) -> None:
    """Let a sweep under way finish, then end the task."""
    running: RunningJanitor | None = ctx.state.pop(STATE_KEY, None)
    if running is not None and running.task is not None:
        running.stop.set()
        await running.task


def janitor(ctx: AppContext) -> Janitor:
    running: RunningJanitor = ctx.state[STATE_KEY]
    return running.janitor


# -- `itube videos janitor` -------------------------------------------------------------------


def add_command(commands: object) -> None:
    """`janitor` under `itube videos`."""
    parser = commands.add_parser(  # type: ignore[attr-defined]
        "janitor", help="remove uploads that never became videos",
        description="Delete objects under videos/ and thumbnails/ older than "
        "[plugins.video] orphan_upload_seconds that no video refers to, and abort multipart "
        "uploads started before then; print the counts of each sweep as one JSON line. "
        "Sweeps every janitor_interval_seconds until stopped, or once with --once.",
    )
    parser.add_argument("--once", action="store_true", help="sweep once, then exit")
    parser.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from core.app import create_app  # the CLI only: loading the app's plugins is not free
    from core.config import load_config
    from core.log import configure_logging
    from plugins.video.commands import run_started

    loaded = load_config(args.config)
    interval = float(loaded.plugins.get("video", {}).get(
        "janitor_interval_seconds", VideoSettings().janitor_interval_seconds)) or 3600.0
    config = without_background_janitor(loaded)
    configure_logging(config.logging.level)
    swept = run_started("janitor", lambda: asyncio.run(
        sweep(create_app(config), args.once, interval)))
    return 0 if swept else 1


def without_background_janitor(config: Config) -> Config:
    """The config with the app's own janitor task off: the command sweeps itself."""
    video = {**config.plugins.get("video", {}), "janitor_interval_seconds": 0}
    return attrs.evolve(config, plugins={**config.plugins, "video": video})


async def sweep(app: Starlette, once: bool, interval_seconds: float) -> bool:
    """Start `app`, sweep once (or every `interval_seconds` until interrupted), stop it.
    Each sweep prints its counts as a JSON line, or its fault on stderr; False when the
    single sweep of `once` failed."""
    async with app.router.lifespan_context(app):
        sweeper = janitor(app.state.ctx)
        while True:
            try:
                report = await sweeper.sweep()
            except Exception as exc:  # S3 or the database did not answer
                print(f"itube videos janitor: sweep failed: {type(exc).__name__}: {exc}",
                      file=sys.stderr, flush=True)
                if once:
                    return False
            else:
                print(json.dumps(report.counts()), flush=True)
                if once:
                    return True
            await anyio.sleep(interval_seconds)
