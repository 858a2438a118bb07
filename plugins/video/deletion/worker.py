"""The deletion worker: claims due deletion jobs and removes their objects from S3.

It runs as a lifespan task of the app (every `deletion_poll_seconds`), and once from
`itube videos purge`. A claimed job is held for `deletion_lease_seconds`: a worker that
dies mid-job leaves it to be claimed again afterwards. Removal is idempotent (S3 answers a
delete of a missing object with success), so a job done twice harms nothing. A job whose
S3 calls fail is logged and due again after a backoff; the loop never stops for it.
boto3 is blocking: each job's S3 calls run in one of anyio's worker threads.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from functools import partial
from typing import Any

import anyio
import anyio.to_thread
import attrs
from starlette.applications import Starlette

from core.config import Config
from core.context import AppContext
from plugins.video.deletion import queries
from plugins.video.deletion.queries import ClaimedJob, Target
from plugins.video.deletion.service import DeletionService
from plugins.video.service import VideoService

log = logging.getLogger("itube.video.deletion")
STATE_KEY = "video.deletion"
# The first retry of a failed job waits this long; each further one twice as long, up to
# RETRY_MAX_SECONDS.
RETRY_BASE_SECONDS = 30.0
RETRY_MAX_SECONDS = 3600.0
# DeleteObjects takes at most this many keys a call.
DELETE_BATCH = 1000


class RemovalFailed(Exception):
    """S3 refused to delete some of a job's objects; the message names the first."""


@attrs.define
class PurgeReport:
    """The jobs one run handled: done, or failed and due again later."""

    done: list[uuid.UUID] = attrs.Factory(list)
    failed: list[uuid.UUID] = attrs.Factory(list)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def retry_delay(attempt: int) -> dt.timedelta:
    """How long a job waits after its `attempt`-th claim failed."""
    return dt.timedelta(seconds=min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))


class DeletionWorker:
    """Removes deleted videos' objects through `s3` (a boto3 client)."""

    def __init__(self, s3: Any, lease_seconds: float) -> None:
        self.s3 = s3
        self.lease = dt.timedelta(seconds=lease_seconds)

    async def run_due(self, now: dt.datetime | None = None) -> PurgeReport:
        """Handle every job due at `now` (default: the current time), one claim at a time,
        then return. A failed job is due again only after its backoff: not in this run."""
        now = now or _now()
        report = PurgeReport()
        while (job := await queries.claim_due(now, now + self.lease)) is not None:
            done = await self.run_job(job, now)
            (report.done if done else report.failed).append(job.id)
        return report

    async def run_job(self, job: ClaimedJob, now: dt.datetime) -> bool:
        """Remove the job's objects, then mark it done; on an S3 fault, postpone it."""
        try:
            targets = await _removable(job.targets)
            await anyio.to_thread.run_sync(partial(remove_objects, self.s3, targets))
        except Exception as exc:  # any S3 fault: the job is retried, the others go on
            log.warning("video deletion failed; will retry", extra={
                "job": str(job.id), "attempt": job.attempt, "error": str(exc)})
            await queries.postpone(job, now + retry_delay(job.attempt), str(exc))
            return False
        await queries.finish(job, _now())
        return True

    async def run_forever(self, poll_seconds: float, stop: anyio.Event) -> None:
        """Run the due jobs every `poll_seconds` until `stop` is set (the first run one
        interval after start-up, out of the way of the app's first requests)."""
        while True:
            with anyio.move_on_after(poll_seconds):
                await stop.wait()
            if stop.is_set():
                return
            try:
                await self.run_due()
            except Exception:  # the database did not answer: try again next time
                log.exception("video deletion run failed")


async def _removable(targets: Sequence[Target]) -> list[Target]:
    """The targets to remove now: a shared object another video shows is kept."""
    in_use = await queries.thumbnails_in_use([target.key for target in targets
                                              if target.shared])
    return [target for target in targets if target.key not in in_use or not target.shared]


def remove_objects(s3: Any, targets: Sequence[Target]) -> None:
    """Delete every target from S3 (blocking). Deleting what is not there succeeds."""
    for target in targets:
        if target.prefix:
            _remove_prefix(s3, target.bucket, target.key)
        else:
            s3.delete_object(Bucket=target.bucket, Key=target.key)


def _remove_prefix(s3: Any, bucket: str, prefix: str) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        for start in range(0, len(keys), DELETE_BATCH):
            answer = s3.delete_objects(Bucket=bucket, Delete={
                "Objects": keys[start:start + DELETE_BATCH], "Quiet": True})
            errors = answer.get("Errors", [])
            if errors:
                first = errors[0]
                raise RemovalFailed(f"{bucket}/{first.get('Key')}: {first.get('Code')} "
                                    f"{first.get('Message', '')}".strip())


# -- in the app -------------------------------------------------------------------------------


@attrs.define
class Deletions:
    """The app's deletion service and worker, kept in `ctx.state[STATE_KEY]`."""

    service: DeletionService
    worker: DeletionWorker
    stop: anyio.Event = attrs.Factory(anyio.Event)
    task: asyncio.Task[None] | None = None


async def start(ctx: AppContext, videos: VideoService) -> None:
    """Make the app's deletion service and worker, and run the worker in the background
    unless `deletion_poll_seconds` is 0."""
    settings = videos.settings
    worker = DeletionWorker(videos.storage.s3, settings.deletion_lease_seconds)
    running = Deletions(DeletionService(videos), worker)
    if settings.deletion_poll_seconds > 0:
        running.task = asyncio.create_task(
            worker.run_forever(settings.deletion_poll_seconds, running.stop),
            name="video-deletion-worker",
        )
    ctx.state[STATE_KEY] = running


async def stop(ctx: AppContext) -> None:
    """Let the background worker finish the job in hand, then end it."""
    running: Deletions | None = ctx.state.pop(STATE_KEY, None)
    if running is not None and running.task is not None:
        running.stop.set()
        await running.task


def deletions(ctx: AppContext) -> Deletions:
    running: Deletions = ctx.state[STATE_KEY]
    return running


# -- `itube videos purge` ---------------------------------------------------------------------


def add_command(commands: Any) -> None:
    """`purge` under `itube videos`."""
    purge = commands.add_parser(
        "purge", help="remove deleted videos' S3 objects now, then exit",
        description="Run every due deletion job once (as the app's deletion worker does) and "
        "print how many were done and how many failed (due again after a backoff). Exits 1 "
        "when one failed.",
    )
    purge.set_defaults(func=run_purge)


def run_purge(args: argparse.Namespace) -> int:
    from core.app import create_app  # the CLI only: loading the app's plugins is not free
    from core.config import load_config
    from core.log import configure_logging
    from plugins.video.commands import run_started

    config = without_background_worker(load_config(args.config))
    configure_logging(config.logging.level)
    report = run_started("purge", lambda: asyncio.run(purge(create_app(config))))
    if report is None:
        return 1
    print(json.dumps({"done": len(report.done), "failed": len(report.failed)}))
    return 1 if report.failed else 0


def without_background_worker(config: Config) -> Config:
    """The config with the app's own worker off: the command runs the jobs itself."""
    video = {**config.plugins.get("video", {}), "deletion_poll_seconds": 0}
    return attrs.evolve(config, plugins={**config.plugins, "video": video})


async def purge(app: Starlette) -> PurgeReport:
    """Start `app` (its database, AWS and plugins), run the due jobs once, stop it."""
    async with app.router.lifespan_context(app):
        return await deletions(app.state.ctx).worker.run_due()
