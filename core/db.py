"""The database: a Piccolo engine chosen by URL with every wait bounded, bound to every
enabled plugin's tables, and a small migration runner over each plugin's
`piccolo_migrations/` folder.

A database that is down, frozen, out of connections or locked is a `ServiceUnavailable`
(503 with `Retry-After`) raised by the engine itself, so no route catches anything."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import io
import logging
import math
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg
import attrs
from piccolo.apps.migrations.tables import Migration
from piccolo.conf.apps import AppConfig, AppRegistry
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine, PostgresTransaction
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.querystring import QueryString
from piccolo.table import Table

from core import piccolo_conf
from core.config import DatabaseSection
from core.errors import NotReady, ServiceUnavailable

os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")
log = logging.getLogger("itube.db")
# What either engine raises when a constraint refuses a write; `is_unique_violation` says
# whether it was a unique one (a duplicate), which callers usually turn into a conflict.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, asyncpg.IntegrityConstraintViolationError)


def write_transaction(table: type[Table]) -> Any:
    """A transaction on `table`'s engine for statements that read and change rows as one
    step. SQLite takes its write lock at BEGIN, so concurrent writers queue instead of
    failing halfway."""
    engine = table._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def is_unique_violation(exc: BaseException) -> bool:
    """Did a unique constraint refuse the write, on either engine?"""
    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc).upper()


UNAVAILABLE = "The database is not answering; try again shortly"
# A warning per interval while the database fails, not one per request.
REPORT_EVERY_SECONDS = 5.0
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


# -- faults ----------------------------------------------------------------------------------


def is_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot answer now (down, unreachable, frozen, out of
    connections or resources, shutting down, locked) rather than that a query is wrong."""
    if isinstance(error, OSError):  # refused, reset, unreachable; TimeoutError is one too
        return True
    if isinstance(error, asyncpg.PostgresConnectionError | asyncpg.InsufficientResourcesError
                  | asyncpg.exceptions.OperatorInterventionError):
        return True  # lost connections; too many clients; cancelled statements, shutdowns
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error)
    return False


def left_unanswered(error: BaseException) -> bool:
    """Whether a connection that raised `error` may still owe an answer (timed out, cut,
    cancelled): such a connection is dropped, never reset or reused."""
    if isinstance(error, ServiceUnavailable) and error.__cause__ is not None:
        error = error.__cause__
    return isinstance(error, asyncio.CancelledError) or is_unavailable(error)


class FaultGuard:
    """Turns database faults into `ServiceUnavailable`, with one warning per interval."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_report = -math.inf

    @contextlib.contextmanager
    def translating(self) -> Iterator[None]:
        try:
            yield
        except Exception as error:
            if not is_unavailable(error):
                raise
            self._report(error)
            raise ServiceUnavailable(UNAVAILABLE) from error

    def _report(self, error: Exception) -> None:
        now = self._clock()
        if now - self._last_report >= REPORT_EVERY_SECONDS:
            self._last_report = now
            log.warning("database unavailable (%s: %s); answering 503",
                        type(error).__name__, error)


class BoundedPostgresEngine(PostgresEngine):
    """Piccolo's PostgreSQL engine with every wait bounded: a pooled connection within
    `acquire_timeout`, statements within asyncpg's `command_timeout`. A connection left
    waiting for an answer is dropped, never reset: a reset would wait on the same silent
    server. Faults leave as `ServiceUnavailable`."""

    def __init__(self, config: dict[str, Any], *, acquire_timeout: float) -> None:
        self.acquire_timeout = acquire_timeout
        self.guard = FaultGuard()
        # Callers waiting for a pooled connection now (the pool-waiting metric).
        self.waiting = 0
        super().__init__(config=config, log_queries=False)

    async def connection(self) -> Any:
        """A pooled connection (a new one when no pool runs), within the acquire timeout."""
        if self.pool is None:
            return await self.get_new_connection()
        self.waiting += 1
        try:
            return await self.pool.acquire(timeout=self.acquire_timeout)
        finally:
            self.waiting -= 1

    async def release(self, connection: Any) -> None:
        if self.pool is None:
            await connection.close(timeout=self.acquire_timeout)
        else:
            await self.pool.release(connection)

    @staticmethod
    def drop(connection: Any) -> None:
        """Close at once; a pooled connection's slot goes back to the pool, to reconnect.
        Closing rolls back whatever transaction the server had open on it."""
        connection.terminate()

    async def _run_in_pool(self, query: str, args: Sequence[Any] | None = None) -> Any:
        connection = await self.connection()
        try:
            result = await connection.fetch(query, *(args or ()))
        except BaseException as error:
            if left_unanswered(error):
                self.drop(connection)
            else:
                await self.release(connection)
            raise
        await self.release(connection)
        return result

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        with self.guard.translating():
            return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = True) -> Any:
        with self.guard.translating():
            return await super().run_ddl(ddl, in_pool)

    def transaction(self, allow_nested: bool = True) -> PostgresTransaction:
        return _BoundedPostgresTransaction(engine=self, allow_nested=allow_nested)


class _BoundedPostgresTransaction(PostgresTransaction):
    """Piccolo's transaction on the bounded engine. Unlike Piccolo's, a failed BEGIN or
    COMMIT gives the connection back, so faults cannot drain the pool."""

    engine: BoundedPostgresEngine

    async def __aenter__(self) -> PostgresTransaction:
        if self._parent is not None:
            return self._parent
        with self.engine.guard.translating():
            self.connection = await self.engine.connection()
            try:
                self.transaction = self.connection.transaction()
                await self.begin()
            except BaseException:
                self.engine.drop(self.connection)
                raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type: Any, error: BaseException | None, tb: Any) -> bool:
        if self._parent is not None:
            return error is None
        try:
            with self.engine.guard.translating():
                await self._finish(error)
        finally:
            self.engine.current_transaction.reset(self.context)
        return error is None

    async def _finish(self, error: BaseException | None) -> None:
        if error is not None and left_unanswered(error):
            self.engine.drop(self.connection)
            return
        try:
            if error is not None and not self._rolled_back:
                await self.rollback()
            elif error is None and not (self._committed or self._rolled_back):
                await self.commit()
        except BaseException:
            self.engine.drop(self.connection)
            raise
        await self.engine.release(self.connection)


class BoundedSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine whose faults ("database is locked" once the lock wait is
    over) leave as `ServiceUnavailable`."""

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        self.guard = FaultGuard()
        super().__init__(path=path, **connection_kwargs)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        with self.guard.translating():
            return await super().run_querystring(querystring, in_pool)

    async def run_ddl(self, ddl: str, in_pool: bool = False) -> Any:
        with self.guard.translating():
            return await super().run_ddl(ddl, in_pool)

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> SQLiteTransaction:
        return _GuardedSQLiteTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )


class _GuardedSQLiteTransaction(SQLiteTransaction):
    """Piccolo's transaction on the guarded engine. Unlike Piccolo's, a BEGIN or COMMIT
    refused for a lock closes the connection instead of leaving it open."""

    engine: BoundedSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        with self.engine.guard.translating():
            self.connection = await self.get_connection()
            try:
                await self.begin()
            except BaseException:
                await self.connection.close()
                raise
        self.context = self.engine.current_transaction.set(self)
        return self

    async def __aexit__(self, exc_type: Any, error: BaseException | None, tb: Any) -> bool:
        if self._parent is not None:
            return error is None
        try:
            with self.engine.guard.translating():
                try:
                    if error is not None and not self._rolled_back:
                        await self.rollback()
                    elif error is None and not (self._committed or self._rolled_back):
                        await self.commit()
                finally:
                    await self.connection.close()
        finally:
            self.engine.current_transaction.reset(self.context)
        return error is None


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


# -- readiness -------------------------------------------------------------------------------


_MIGRATION_TABLE_FOUND = {
    "postgres": "SELECT to_regclass('migration') IS NOT NULL AS present",
    "sqlite": "SELECT count(*) > 0 AS present FROM sqlite_master "
              "WHERE type = 'table' AND name = 'migration'",
}


class MigrationsPending(NotReady):
    """The database answers, but lacks migrations the running code expects."""


class DatabaseReadiness:
    """The `database` readiness check: the database answers, and every enabled plugin's
    migrations are applied. Once all are seen applied it stops asking: nothing unapplies
    them under a running app (a release that brings new ones starts new processes)."""

    def __init__(self, engine: Engine, apps: list[AppConfig]) -> None:
        self.engine = engine
        self.apps = apps
        self._all_applied = False
        self._reported: frozenset[str] = frozenset()

    async def __call__(self) -> None:
        await ping(self.engine)
        if self._all_applied:
            return
        applied = await self._applied()
        names = [
            f"{app.app_name}:{migration}"
            for app in self.apps
            for migration in sorted(_migration_modules(app))
            if (app.app_name, migration) not in applied
        ]
        if names:
            self._report(names)
            raise MigrationsPending(f"migrations not applied: {', '.join(names)}")
        self._all_applied = True

    async def _applied(self) -> set[tuple[str, str]]:
        """(app, migration) pairs recorded in Piccolo's `migration` table, read through this
        app's engine (the table class is bound to whichever app started last), and without
        creating the table: a probe only looks."""
        [found] = await self.engine.run_ddl(_MIGRATION_TABLE_FOUND[engine_kind(self.engine)])
        if not found["present"]:
            return set()
        rows = await self.engine.run_ddl("SELECT app_name, name FROM migration")
        return {(row["app_name"], row["name"]) for row in rows}

    def _report(self, names: list[str]) -> None:
        if frozenset(names) != self._reported:  # once per change, not once per probe
            self._reported = frozenset(names)
            log.warning("migrations pending; run `itube migrate`", extra={"pending": names})


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
