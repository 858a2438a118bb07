"""Signed webhooks (Standard Webhooks): every event the outbox dispatches is POSTed to the
configured endpoints, signed, retried with backoff over about a day, logged per delivery.
See docs/webhooks.md."""

from __future__ import annotations

from typing import Any

from piccolo.conf.apps import AppConfig

from core.config import Config
from core.context import AppContext
from core.events import EventSink
from core.plugins import hookimpl
from plugins.webhooks import commands, runtime
from plugins.webhooks.config import WebhooksSettings, settings_problems
from plugins.webhooks.piccolo_app import APP_CONFIG

NAME = runtime.NAME


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: WebhooksSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    return settings_problems(settings[NAME], production=config.is_production)


@hookimpl
def register_piccolo_app() -> AppConfig:
    return APP_CONFIG


@hookimpl
def register_commands(subparsers: Any) -> None:
    commands.add_commands(subparsers)


@hookimpl
async def startup(ctx: AppContext) -> None:
    await runtime.start(ctx)


@hookimpl
async def shutdown(ctx: AppContext) -> None:
    await runtime.stop(ctx)


@hookimpl
def event_sinks(ctx: AppContext) -> list[EventSink]:
    return [runtime.webhooks(ctx).sink]
