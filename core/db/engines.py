"""Engines: the bounded engine a database URL names, Piccolo bound to it, and its pool."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine

from core import piccolo_conf
from core.config import DatabaseSection
from core.db.bounded import BoundedPostgresEngine, BoundedSQLiteEngine

# Piccolo's own look-ups (its CLI, the migration table) find the engine in core.piccolo_conf.
os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")

# SQLite's wait for a lock when `statement_timeout_seconds = 0` lifts the bound.
SQLITE_UNBOUNDED_LOCK_WAIT = 3600.0


def sqlite_path(url: str) -> str:
    """The file of a `sqlite:///relative` or `sqlite:////absolute` URL."""
    path = url.removeprefix("sqlite://").removeprefix("/") or "itube.db"
    return "/" + path.lstrip("/") if url.startswith("sqlite:////") else path


def make_engine(section: DatabaseSection) -> Engine:
    url = section.url
    if url.startswith("sqlite://"):
        path = sqlite_path(url)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Each query opens its own connection and waits for a busy writer this long.
        lock_wait = section.statement_timeout_seconds or SQLITE_UNBOUNDED_LOCK_WAIT
        return BoundedSQLiteEngine(path=path, timeout=lock_wait)
    return BoundedPostgresEngine(
        config=postgres_config(section), acquire_timeout=section.pool_acquire_timeout_seconds
    )


def postgres_config(section: DatabaseSection) -> dict[str, Any]:
    """asyncpg's connect arguments: the DSN and the bounds of every wait."""
    config: dict[str, Any] = {
        "dsn": "postgresql://" + section.url.split("://", 1)[1],
        "timeout": section.connect_timeout_seconds,
    }
    if section.statement_timeout_seconds:
        # The client's bound holds when the server is frozen; the server's own stops the
        # statement there once the client gave up on it.
        config["command_timeout"] = section.statement_timeout_seconds
        milliseconds = math.ceil(section.statement_timeout_seconds * 1000)
        config["server_settings"] = {"statement_timeout": str(milliseconds)}
    return config


def engine_kind(engine: Engine) -> str:
    return "postgres" if isinstance(engine, PostgresEngine) else "sqlite"


def bind(engine: Engine, apps: list[AppConfig]) -> None:
    """Point Piccolo (its finder, the migrations table and every app's tables) at `engine`.

    Piccolo keeps the engine on each Table class, so one process serves one database at a
    time; apps built one after another may use different databases (docs/decisions.md).
    """
    piccolo_conf.DB = engine
    Migration._meta.db = engine
    for app in apps:
        for table in app.table_classes:
            table._meta.db = engine


async def open_pool(engine: Engine, section: DatabaseSection) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(
            min_size=section.pool_min_size, max_size=section.pool_max_size
        )


async def close_pool(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


def pool_usage(engine: Engine) -> tuple[int, int]:
    """(connections lent out, callers waiting) of the engine's pool; (0, 0) without one
    (SQLite, or before the pool opens)."""
    pool = getattr(engine, "pool", None)
    if pool is None:
        return 0, 0
    return pool.get_size() - pool.get_idle_size(), getattr(engine, "waiting", 0)


async def ping(engine: Engine) -> None:
    await engine.run_ddl("SELECT 1")
