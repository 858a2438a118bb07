"""The lease sweep as a lifespan task: every `lease_sweep_seconds`, end the leases that
expired (every worker may run one: each end is a compare-and-set)."""

from __future__ import annotations

import asyncio
import logging

import anyio
import attrs

from core.context import AppContext
from plugins.video.transcoding.service import TranscodingService

log = logging.getLogger("itube.video.leases")
STATE_KEY = "video.lease_sweep"


async def sweep_forever(service: TranscodingService, interval_seconds: float,
                        stop: anyio.Event) -> None:
    """Sweep every `interval_seconds` until `stop` is set; a fault waits for the next."""
    while not stop.is_set():
        try:
            ended = await service.sweep()
        except Exception as exc:  # any database fault: the next sweep tries again
            log.warning("lease sweep failed; retried at the next interval",
                        extra={"error": str(exc)})
        else:
            if ended:
                log.info("expired leases ended", extra={"videos": ended})
        with anyio.move_on_after(interval_seconds):
            await stop.wait()


@attrs.define
class RunningSweep:
    task: asyncio.Task[None]
    stop: anyio.Event


async def start(ctx: AppContext, service: TranscodingService) -> None:
    """Sweep in the background unless `lease_sweep_seconds` is 0."""
    interval = service.settings.lease_sweep_seconds
    if interval <= 0:
        return
    stop = anyio.Event()
    task = asyncio.create_task(sweep_forever(service, interval, stop),
                               name="video-lease-sweep")
    ctx.state[STATE_KEY] = RunningSweep(task, stop)


async def stop(ctx: AppContext) -> None:
    running: RunningSweep | None = ctx.state.pop(STATE_KEY, None)
    if running is not None:
        running.stop.set()
        await running.task
