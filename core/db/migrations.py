"""Migrations: a small runner over each plugin's `piccolo_migrations/` folder, one process
at a time per database, and Piccolo's CLI view of the enabled plugins."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import io
import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import attrs
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, AppRegistry

from core.config import DatabaseSection
from core.db.engines import postgres_config, sqlite_path

log = logging.getLogger("itube.db")


def migration_modules(app: AppConfig) -> dict[str, ModuleType]:
    """The migrations in `app`'s folder by id, each imported once per process."""
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
        pending[app.app_name] = [m for m in sorted(migration_modules(app)) if m not in done]
    return pending


async def _run_quietly(manager: Any, backwards: bool = False) -> None:
    """Piccolo prints each migration to stdout; we log it instead, keeping logs JSON."""
    with contextlib.redirect_stdout(io.StringIO()):
        await manager.run(backwards=backwards)


# Any constant works: it names the lock every itube process of a database takes to migrate.
MIGRATION_LOCK_KEY = 0x17_75_BE_00


@contextlib.asynccontextmanager
async def migration_lock(section: DatabaseSection) -> AsyncIterator[None]:
    """One process migrates a database at a time (several workers starting together with
    `migrate_on_start`, or a deploy's `itube migrate` beside them): the others wait here,
    then find nothing pending. A PostgreSQL advisory lock held by a connection of its own,
    or an exclusive lock on a file beside the SQLite database."""
    if section.url.startswith("sqlite://"):
        with open(f"{sqlite_path(section.url)}.migrate-lock", "a") as lock_file:
            await asyncio.to_thread(fcntl.flock, lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    config = postgres_config(attrs.evolve(section, statement_timeout_seconds=0.0))
    connection = await asyncpg.connect(**config)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        yield
    finally:
        await connection.close()  # ends the session, and with it the lock


async def migrate_forwards(apps: list[AppConfig]) -> list[str]:
    """Apply every pending migration, app by app in registration order; return their ids."""
    ran = []
    for app in apps:
        modules = migration_modules(app)
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
    modules = migration_modules(app)
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
