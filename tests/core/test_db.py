"""The database: the engine chosen by URL, the pool, each plugin's migrations and
`itube migrate`. Every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import anyio.from_thread
import asyncpg
import pytest
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from starlette.testclient import TestClient

from core import db
from core.app import create_app
from core.cli import main
from core.config import DatabaseSection, config_from_dict
from core.db.bounded import ForeignLoopError
from core.errors import ConfigError
from core.events.piccolo_app import APP_CONFIG as EVENTS_APP
from tests.core.example_plugin.piccolo_app import APP_CONFIG
from tests.core.example_plugin.tables import GuestbookEntry
from tests.support import services

EXAMPLE = "tests.core.example_plugin"
FIRST = "2026-11-24T06:00:00:000000"
SECOND = "2026-11-24T06:10:00:000000"
# The kernel's own app (the event outbox) comes with every plugin list.
EVENTS = "2026-12-02T14:00:00:000000"


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///var/app.db", "var/app.db"),
        ("sqlite:////abs/dir/app.db", "/abs/dir/app.db"),
    ],
)
def test_sqlite_urls_name_a_file(url, path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Path, "mkdir", lambda *a, **k: None)
    engine = db.make_engine(DatabaseSection(url=url))
    assert isinstance(engine, SQLiteEngine)
    assert engine.path == path
    assert db.engine_kind(engine) == "sqlite"


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg"])
def test_postgres_urls_make_a_postgres_engine(scheme, postgres_available):
    # Piccolo asks the server for its version when an engine is made: use a real one.
    url = services.POSTGRES_ADMIN_URL
    engine = db.make_engine(DatabaseSection(url=url.replace("postgresql", scheme, 1)))
    assert isinstance(engine, PostgresEngine)
    assert engine.config == {
        "dsn": url,
        "timeout": 3.0,  # connect
        "command_timeout": 5.0,  # the client's statement bound: holds when the server froze
        "server_settings": {"statement_timeout": "5000"},
    }
    assert engine.acquire_timeout == 3.0
    assert db.engine_kind(engine) == "postgres"


def test_a_statement_timeout_of_zero_lifts_the_bound(postgres_available, tmp_path):
    unbounded = DatabaseSection(url=services.POSTGRES_ADMIN_URL, statement_timeout_seconds=0.0)
    config = db.make_engine(unbounded).config
    assert "command_timeout" not in config and "server_settings" not in config
    # SQLite waits for a lock as long as a statement may run.
    sqlite = DatabaseSection(url=f"sqlite:///{tmp_path}/a.db", statement_timeout_seconds=2.5)
    assert db.make_engine(sqlite).connection_kwargs["timeout"] == 2.5
    sqlite.statement_timeout_seconds = 0.0
    assert db.make_engine(sqlite).connection_kwargs["timeout"] == db.SQLITE_UNBOUNDED_LOCK_WAIT


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("connect_timeout_seconds", 0.0, "expected more than 0"),
    ("pool_acquire_timeout_seconds", -1.0, "expected more than 0"),
    ("statement_timeout_seconds", -0.5, "expected 0 or more"),
])
def test_database_bounds_must_be_usable(key, value, expected):
    with pytest.raises(ConfigError) as error:
        config_from_dict({"database": {key: value}}, source="itube.toml", environ={})
    assert f"itube.toml: database.{key}: {expected}, got {value}" in str(error.value)


@pytest.mark.parametrize("error", [
    ConnectionRefusedError(111, "Connect call failed"),
    ConnectionResetError(),
    OSError("Multiple exceptions: [Errno 111] ..., [Errno 99] ..."),
    TimeoutError(),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    sqlite3.OperationalError("database is locked"),
])
def test_faults_of_the_database_are_told_apart(error):
    assert db.is_unavailable(error)


@pytest.mark.parametrize("error", [
    asyncpg.UniqueViolationError("duplicate key value"),
    asyncpg.UndefinedTableError('relation "videos" does not exist'),
    sqlite3.OperationalError("no such table: videos"),
    sqlite3.IntegrityError("UNIQUE constraint failed"),
    ValueError("bad value"),
])
def test_errors_of_a_query_are_not_faults(error):
    assert not db.is_unavailable(error)


@pytest.mark.hooks("register_piccolo_app")
def test_the_pool_is_sized_from_config_and_closed_at_shutdown(db_config):
    app = create_app(db_config([EXAMPLE], database={"pool_min_size": 2, "pool_max_size": 3}))
    with TestClient(app) as client:
        engine = app.state.ctx.db
        assert client.get("/api/v1/guestbook").status_code == 200
        assert GuestbookEntry._meta.db is engine
        if isinstance(engine, PostgresEngine):
            assert (engine.pool.get_min_size(), engine.pool.get_max_size()) == (2, 3)
        else:
            assert isinstance(engine, SQLiteEngine)
    if isinstance(engine, PostgresEngine):
        assert engine.pool is None


def test_a_pool_serves_only_the_loop_that_opened_it(postgres_url):
    """An app alive on one loop reaches, through Piccolo's tables, the engine of an app
    started later on another: asyncpg's connections are not thread-safe, so the pool
    refuses that loop before handing it anything (PostgreSQL only: SQLite has no pool)."""
    engine = db.make_engine(DatabaseSection(url=postgres_url))
    with anyio.from_thread.start_blocking_portal("asyncio") as owner:
        owner.call(db.open_pool, engine, DatabaseSection(url=postgres_url))
        try:
            with pytest.raises(ForeignLoopError, match="belongs to another event loop"):
                # Without the check this loop is handed a connection, or waits on the pool.
                asyncio.run(asyncio.wait_for(engine.connection(), timeout=5))
            assert owner.call(asyncio.wait_for, engine.run_ddl("SELECT 1"), 5)[0][0] == 1
        finally:
            owner.call(engine.pool.terminate)  # waits on no connection a failure left out


def write_config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "migrate.toml"
    path.write_text(f'[app]\nplugins = ["{EXAMPLE}"]\n[database]\nurl = "{url}"\n')
    return str(path)


def table_exists() -> bool:
    return asyncio.run(GuestbookEntry.table_exists().run())


def test_itube_migrate_forwards_backwards_and_check(db_url, tmp_path, capsys):
    config = write_config(tmp_path, db_url)
    assert main(["migrate", "--config", config, "check"]) == 1
    out = capsys.readouterr()
    assert out.out.strip() == (f"guestbook: 2 pending: {FIRST}, {SECOND}\n"
                               f"events: 1 pending: {EVENTS}")
    assert "migrations pending" in out.err

    assert main(["migrate", "--config", config]) == 0
    assert f"guestbook:{FIRST}\nguestbook:{SECOND}\nevents:{EVENTS}" in capsys.readouterr().out
    assert table_exists()
    assert main(["migrate", "--config", config, "check"]) == 0
    assert "up to date" in capsys.readouterr().err
    assert main(["migrate", "--config", config, "forwards"]) == 0
    assert "nothing to migrate" in capsys.readouterr().out

    assert main(["migrate", "--config", config, "backwards", "--app", "guestbook"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"guestbook:{SECOND}")
    assert table_exists()
    assert main(["migrate", "--config", config, "check"]) == 1
    assert capsys.readouterr().out.strip() == f"guestbook: 1 pending: {SECOND}"

    assert main(["migrate", "--config", config, "backwards", "--app", "guestbook",
                 "--steps", "5"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"guestbook:{FIRST}")
    assert not table_exists()


def test_itube_migrate_backwards_needs_a_known_app(db_url, tmp_path, capsys):
    config = write_config(tmp_path, db_url)
    assert main(["migrate", "--config", config, "backwards"]) == 2
    assert "needs --app NAME (one of: guestbook, events)" in capsys.readouterr().err
    assert main(["migrate", "--config", config, "backwards", "--app", "video"]) == 2
    assert "no enabled plugin has a Piccolo app named 'video'" in capsys.readouterr().err


def test_migrate_on_start_applies_pending_migrations(db_config):
    app = create_app(db_config([EXAMPLE], database={"migrate_on_start": True}))
    with TestClient(app) as client:
        assert client.get("/readyz").json()["checks"]["guestbook"] == "ok"
    assert asyncio.run(db.pending_migrations([APP_CONFIG])) == {"guestbook": []}


def test_without_migrate_on_start_nothing_is_migrated(db_config):
    app = create_app(db_config([EXAMPLE], database={"migrate_on_start": False}))
    with TestClient(app, raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["detail"] == "Not ready: database, guestbook failing"
        assert client.get("/api/v1/guestbook").status_code == 500
    assert not table_exists()


def run_on_app_loop(client: TestClient, make_coroutine):
    assert client.portal is not None

    async def call():
        return await make_coroutine()

    return client.portal.call(call)


def test_readyz_names_the_migrations_not_applied(db_config):
    app = create_app(db_config([EXAMPLE], database={"migrate_on_start": False}))
    with TestClient(app, raise_server_exceptions=False) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.headers["retry-after"] == "5"
        assert ready.json()["checks"]["database"] == (
            f"failing: migrations not applied: guestbook:{FIRST}, guestbook:{SECOND}, "
            f"events:{EVENTS}"
        )
        # A probe does not create Piccolo's migration table: it only looks.
        assert not run_on_app_loop(client, lambda: Migration.table_exists().run())

        run_on_app_loop(client, lambda: db.migrate_forwards([APP_CONFIG, EVENTS_APP]))
        assert client.get("/readyz").json() == {
            "status": "ok",
            "checks": {"database": "ok", "cache:memory": "ok", "guestbook": "ok"},
        }


def test_readyz_stops_asking_once_every_migration_is_seen_applied(db_config):
    app = create_app(db_config([EXAMPLE], database={"migrate_on_start": True}))
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/readyz").json()["checks"]["database"] == "ok"
        # Forget a migration behind the app's back: probes no longer read the table.
        run_on_app_loop(client, lambda: Migration.delete().where(Migration.name == SECOND).run())
        assert client.get("/readyz").json()["checks"]["database"] == "ok"
    assert asyncio.run(db.pending_migrations([APP_CONFIG])) == {"guestbook": [SECOND]}


async def _hold_migration_lock(section: Any, name: str, events: list[str]) -> None:
    async with db.migration_lock(section):
        events.append(f"{name} in")
        await asyncio.sleep(0.2)
        events.append(f"{name} out")


def test_processes_migrate_one_at_a_time(db_url: str):
    """Several workers starting with `migrate_on_start` (or `itube migrate` beside them) take
    turns: the second waits until the first is done, then finds nothing pending."""
    section = DatabaseSection(url=db_url)

    async def two_at_once() -> list[str]:
        events: list[str] = []
        await asyncio.gather(_hold_migration_lock(section, "first", events),
                             _hold_migration_lock(section, "second", events))
        return events

    events = asyncio.run(two_at_once())
    assert events in (["first in", "first out", "second in", "second out"],
                      ["second in", "second out", "first in", "first out"])
