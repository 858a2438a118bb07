"""Newest entries first: an index, in SQL both PostgreSQL and SQLite accept."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-24T06:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index entries by time"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="guestbook", description=DESCRIPTION)

    async def create_index() -> None:
        await engine_finder().run_ddl(
            "CREATE INDEX IF NOT EXISTS guestbook_entries_created_at "
            "ON guestbook_entries (created_at DESC, id DESC)"
        )

    async def drop_index() -> None:
        await engine_finder().run_ddl("DROP INDEX IF EXISTS guestbook_entries_created_at")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
