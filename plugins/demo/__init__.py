"""The demo page: a plain HTML and JavaScript client of the API at `/demo` that signs up,
signs in, uploads a video in resumable parts straight to S3, saves its metadata, follows
its status and plays it. For development only: a production config refuses to load it."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from core.config import Config
from core.context import AppContext
from core.plugins import hookimpl
from plugins.demo.routes import demo_routes

NAME = "demo"


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    if config.is_production:
        return ["demo serves a development page at /demo; remove it from [app] plugins "
                "in production"]
    return []


@hookimpl
def register_routes(ctx: AppContext) -> list[BaseRoute]:
    return demo_routes(ctx)
