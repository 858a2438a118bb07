"""A plugin for the server tests: a start-up as slow as its settings say (awaiting, or
blocking a thread the way a stuck emulator did), and a route that reads the whole body.
Load it with `plugins = ["tests.server.stand_in"]` (the repository on PYTHONPATH)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import anyio
import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.context import AppContext
from core.plugins import hookimpl

NAME = "server_stand_in"
log = logging.getLogger("itube.stand_in")


@attrs.define
class StandInSettings:
    # How long start-up takes, in seconds.
    startup_seconds: int = 0
    # "await": an asyncio sleep; "thread": a thread that sleeps (it cannot be cancelled);
    # "fail": an error once the time has passed.
    startup_style: str = "await"


async def read_body(request: Request) -> JSONResponse:
    log.info("stand-in reads the body")  # tests wait for this line, not for a clock
    body = await request.body()
    return JSONResponse({"received": len(body)})


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: StandInSettings}


@hookimpl
def register_routes(ctx: AppContext) -> list[Any]:
    return [Route("/test/body", read_body, methods=["POST"])]


@hookimpl
def startup(ctx: AppContext) -> Any:
    settings: StandInSettings = ctx.settings(NAME)
    if not settings.startup_seconds:
        return None
    log.info("stand-in start-up begins", extra={"style": settings.startup_style})
    if settings.startup_style == "thread":
        return anyio.to_thread.run_sync(time.sleep, settings.startup_seconds)
    if settings.startup_style == "fail":
        return _fail_after(settings.startup_seconds)
    return asyncio.sleep(settings.startup_seconds)


async def _fail_after(seconds: int) -> None:
    await asyncio.sleep(seconds)
    raise RuntimeError("the stand-in could not start")
