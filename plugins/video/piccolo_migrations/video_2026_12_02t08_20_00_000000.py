"""The uploader's display name on each video, and the indexes of the title sort.

The title sort pages by `(title, id)`: for the public listing a partial index with the
public listing's predicate, for one owner's videos `(owner_id, title, id)`. Newest and
oldest first are the two directions of the existing `(created_at DESC, id DESC)` indexes.
One uploader's public videos are read through the owner's indexes, filtered.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder

ID = "2026-12-02T08:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "uploader name, title sort indexes"

INDEXES = {
    "videos_public_title_idx": (
        "CREATE INDEX IF NOT EXISTS videos_public_title_idx ON videos (title, id) "
        "WHERE visibility = 'PUBLIC' AND processing_status = 'COMPLETED'"
    ),
    "videos_owner_title_idx": (
        "CREATE INDEX IF NOT EXISTS videos_owner_title_idx ON videos (owner_id, title, id)"
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
    manager.add_column(
        table_class_name="Video",
        tablename="videos",
        column_name="uploader_name",
        db_column_name="uploader_name",
        column_class_name="Text",
        column_class=Text,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
