"""The database: a Piccolo engine chosen by URL, bound to every enabled plugin's tables,
and a small migration runner over each plugin's `piccolo_migrations/` folder."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from core import piccolo_conf
from core.config import DatabaseSection

os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")
log = logging.getLogger("itube.db")


def make_engine(section: DatabaseSection) -> Engine:
    url = section.url
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://").removeprefix("/") or "itube.db"
        if url.startswith("sqlite:////"):
            path = "/" + path.lstrip("/")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Each query opens its own connection; wait for a busy writer instead of failing.
        return SQLiteEngine(path=path, timeout=30)
    dsn = "postgresql://" + url.split("://", 1)[1]
    return PostgresEngine(config={"dsn": dsn}, log_queries=False)


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


async def ping(engine: Engine) -> None:
    await engine.run_ddl("SELECT 1")


# -- migrations ------------------------------------------------------------------------------


def _migration_modules(app: AppConfig) -> dict[str, ModuleType]:
    folder = Path(app.resolved_migrations_folder_path)
    modules: dict[str, ModuleType] = {}
    for path in sorted(folder.glob("*.py")):
        if path.name == "__init__.py":
            continue
        name = f"_itube_migrations.{app.app_name}.{path.stem}"
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        modules[module.ID] = module
    return modules


async def _ensure_migration_table() -> None:
    await Migration.create_table(if_not_exists=True).run()


async def applied_migrations(app: AppConfig) -> list[str]:
    await _ensure_migration_table()
    return await Migration.get_migrations_which_ran(app_name=app.app_name)


async def pending_migrations(apps: list[AppConfig]) -> dict[str, list[str]]:
    pending = {}
    for app in apps:
        done = set(await applied_migrations(app))
        pending[app.app_name] = [m for m in sorted(_migration_modules(app)) if m not in done]
    return pending


async def _run_quietly(manager: Any, backwards: bool = False) -> None:
    """Piccolo prints each migration to stdout; we log it instead, keeping logs JSON."""
    with contextlib.redirect_stdout(io.StringIO()):
        await manager.run(backwards=backwards)


async def migrate_forwards(apps: list[AppConfig]) -> list[str]:
    """Apply every pending migration, app by app in registration order; return their ids."""
    ran = []
    for app in apps:
        modules = _migration_modules(app)
        done = set(await applied_migrations(app))
        for migration_id in sorted(set(modules) - done):
            manager = await modules[migration_id].forwards()
            await _run_quietly(manager)
            await Migration.insert(Migration(name=migration_id, app_name=app.app_name)).run()
            log.info("migration applied", extra={"app": app.app_name, "migration": migration_id})
            ran.append(f"{app.app_name}:{migration_id}")
    return ran


async def migrate_backwards(apps: list[AppConfig], app_name: str, steps: int = 1) -> list[str]:
    """Reverse the last `steps` applied migrations of one app, newest first."""
    app = next((a for a in apps if a.app_name == app_name), None)
    if app is None:
        known = ", ".join(a.app_name for a in apps) or "none"
        raise ValueError(f"no enabled plugin has a Piccolo app named {app_name!r} ({known})")
    modules = _migration_modules(app)
    reversed_ids = []
    for migration_id in sorted(await applied_migrations(app), reverse=True)[:steps]:
        if migration_id not in modules:
            raise ValueError(f"{app_name}: migration {migration_id} ran but its file is gone")
        manager = await modules[migration_id].forwards()
        await _run_quietly(manager, backwards=True)
        await Migration.delete().where(
            (Migration.name == migration_id) & (Migration.app_name == app.app_name)
        ).run()
        log.info("migration reversed", extra={"app": app.app_name, "migration": migration_id})
        reversed_ids.append(f"{app.app_name}:{migration_id}")
    return reversed_ids


def registry_from_environment() -> AppRegistry:
    """Piccolo's CLI view of the enabled plugins (see core.piccolo_conf)."""
    from core.app import piccolo_apps
    from core.config import load_config
    from core.plugins import make_plugin_manager

    config = load_config()
    apps = piccolo_apps(make_plugin_manager(config.app.plugins))
    return AppRegistry(apps=[_module_defining(app) for app in apps])


def _module_defining(app: AppConfig) -> str:
    """The dotted path of the `piccolo_app` module whose APP_CONFIG is `app`."""
    for name, module in list(sys.modules.items()):
        if getattr(module, "APP_CONFIG", None) is app:
            return name
    raise LookupError(f"no imported module defines APP_CONFIG for {app.app_name!r}")
