"""The database: the engine chosen by URL, the pool, each plugin's migrations and
`itube migrate`. Every test here runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from starlette.testclient import TestClient

from core import db
from core.app import create_app
from core.cli import main
from core.config import DatabaseSection
from tests.core.example_plugin.piccolo_app import APP_CONFIG
from tests.core.example_plugin.tables import GuestbookEntry
from tests.support import services

EXAMPLE = "tests.core.example_plugin"
FIRST = "2026-11-24T06:00:00:000000"
SECOND = "2026-11-24T06:10:00:000000"


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
    assert engine.config == {"dsn": url}
    assert db.engine_kind(engine) == "postgres"


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
    assert out.out.strip() == f"guestbook: 2 pending: {FIRST}, {SECOND}"
    assert "migrations pending" in out.err

    assert main(["migrate", "--config", config]) == 0
    assert f"guestbook:{FIRST}\nguestbook:{SECOND}" in capsys.readouterr().out
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
    assert "needs --app NAME (one of: guestbook)" in capsys.readouterr().err
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
        assert ready.json()["detail"] == "Not ready: guestbook failing"
        assert client.get("/api/v1/guestbook").status_code == 500
    assert not table_exists()
