"""A guest book: the worked example of docs/plugins.md. Signed-in users leave a line;
anyone reads the latest ones. Load it with `plugins = ["tests.core.example_plugin"]`."""

from __future__ import annotations

from typing import Any

from core.config import Config
from core.context import AppContext
from core.health import ReadinessCheck
from core.plugins import hookimpl
from tests.core.example_plugin.config import GuestbookSettings
from tests.core.example_plugin.tables import GuestbookEntry

NAME = "guestbook"
__version__ = "1.0.0"


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: GuestbookSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    mine: GuestbookSettings = settings[NAME]
    if not 1 <= mine.page_size <= 100:
        return [f"plugins.{NAME}.page_size: expected 1 to 100, got {mine.page_size}"]
    return []


@hookimpl
def register_piccolo_app() -> Any:
    from tests.core.example_plugin.piccolo_app import APP_CONFIG

    return APP_CONFIG


@hookimpl
def register_routes(ctx: AppContext) -> list[Any]:
    from tests.core.example_plugin.routes import ROUTES

    return ROUTES


@hookimpl
def readiness_checks(ctx: AppContext) -> list[ReadinessCheck]:
    async def table_answers() -> None:
        await GuestbookEntry.count()

    return [ReadinessCheck(NAME, table_answers)]
