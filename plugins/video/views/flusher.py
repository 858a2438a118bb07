"""The view flusher: a lifespan task that confirms the views each process noted every
second at most (`ViewCounter.confirm`, one cache call), writes the counts every
`view_flush_seconds`, and both once more at shutdown.

A failed write puts its counts back for the next one, so a database outage delays counts
and loses none; a process that crashes loses the views noted since its last write.
"""

from __future__ import annotations

import asyncio
import logging
import time

import anyio
import attrs

from core.context import AppContext
from plugins.video.views import queries
from plugins.video.views.service import ViewCounter

log = logging.getLogger("itube.video.views")
STATE_KEY = "video.views"
# The longest the noted views wait to be confirmed: a bound on what they hold in memory.
CONFIRM_SECONDS = 1.0


async def flush(counter: ViewCounter) -> None:
    """Confirm the noted views and write the pending counts; on a database fault keep
    the counts for the next flush."""
    await counter.confirm()
    counts = counter.take()
    if not counts:
        return
    try:
        await queries.add_views(counts)
    except Exception as exc:  # any database fault: the counts wait for the next flush
        counter.put_back(counts)
        log.warning("video view counts not written; kept for the next flush",
                    extra={"videos": len(counts), "error": str(exc)})


async def flush_forever(counter: ViewCounter, interval_seconds: float,
                        stop: anyio.Event) -> None:
    """Flush every `interval_seconds` and confirm in between, until `stop` is set, then
    flush once more."""
    write_at = time.monotonic() + interval_seconds
    while not stop.is_set():
        with anyio.move_on_after(min(interval_seconds, CONFIRM_SECONDS)):
            await stop.wait()
        if time.monotonic() >= write_at:
            await flush(counter)
            write_at = time.monotonic() + interval_seconds
        else:
            await counter.confirm()
    await flush(counter)


@attrs.define
class Flusher:
    """The app's running flusher, kept in `ctx.state[STATE_KEY]`."""

    task: asyncio.Task[None]
    stop: anyio.Event


async def start(ctx: AppContext, counter: ViewCounter | None, interval_seconds: float) -> None:
    """Run the flusher in the background when views are counted."""
    if counter is None:
        return
    stop = anyio.Event()
    task = asyncio.create_task(flush_forever(counter, interval_seconds, stop),
                               name="video-view-flusher")
    ctx.state[STATE_KEY] = Flusher(task, stop)


async def stop(ctx: AppContext) -> None:
    """Flush what is left, then end the flusher."""
    running: Flusher | None = ctx.state.pop(STATE_KEY, None)
    if running is not None:
        running.stop.set()
        await running.task
