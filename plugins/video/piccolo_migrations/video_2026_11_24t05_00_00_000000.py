"""Indexes for the listings: written by hand, the same SQL on PostgreSQL and SQLite.

Piccolo runs a migration's raw steps before its tables, so they live in a migration of
their own. The public listing's predicate is repeated literally by the query (not as
bound parameters) so both planners can prove the partial index applies.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-24T05:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "listing indexes"

INDEXES = {
    "videos_public_listing_idx": (
        "CREATE INDEX IF NOT EXISTS videos_public_listing_idx "
        "ON videos (created_at DESC, id DESC) "
        "WHERE visibility = 'PUBLIC' AND processing_status = 'COMPLETED'"
    ),
    "videos_owner_listing_idx": (
        "CREATE INDEX IF NOT EXISTS videos_owner_listing_idx "
        "ON videos (owner_id, created_at DESC, id DESC)"
    ),
}


async def create_indexes():
    engine = engine_finder()
    assert engine is not None
    for statement in INDEXES.values():
        await engine.run_ddl(statement)


async def drop_indexes():
    engine = engine_finder()
    assert engine is not None
    for name in INDEXES:
        await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="video", description=DESCRIPTION)
    manager.add_raw(create_indexes)
    manager.add_raw_backwards(drop_indexes)
    return manager
