"""Share links (plugins/video/shares/): one row per link, the token kept as its SHA-256.

After the renditions' migration (2026-12-02T16:30). A video's links are listed newest first
by `(video, created_at, id)`, an index made after the table (Piccolo runs a migration's raw
steps before its tables), which also serves the foreign key's cascade; the token's hash has
a unique index of its own.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import Column, OnDelete, OnUpdate
from piccolo.columns.column_types import UUID, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.columns.defaults.uuid import UUID4
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder
from piccolo.table import Table

ID = "2026-12-02T16:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "share links"

TABLE = "video_shares"
LISTING_INDEX = (
    "CREATE INDEX IF NOT EXISTS video_shares_video_created_idx "
    f"ON {TABLE} (video, created_at, id)"
)


class Video(Table, tablename="videos", schema=None):
    id = UUID(primary_key=True)


class SharesMigration(MigrationManager):
    """Creates the table, then its listing index (dropped with the table backwards)."""

    async def run(self, backwards: bool = False):
        await super().run(backwards=backwards)
        if not backwards and not self.preview:
            engine = engine_finder()
            assert engine is not None
            await engine.run_ddl(LISTING_INDEX)


def _params(default: object = None, *, null: bool = False, unique: bool = False,
            primary_key: bool = False, **extra: object) -> dict:
    return {
        **extra,
        "default": default,
        "null": null,
        "primary_key": primary_key,
        "unique": unique,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


COLUMNS: list[tuple[str, type[Column], dict]] = [
    ("id", UUID, _params(UUID4(), primary_key=True)),
    ("video", ForeignKey, {**_params(), "references": Video, "on_delete": OnDelete.cascade,
                           "on_update": OnUpdate.cascade, "target_column": None}),
    ("token_hash", Varchar, _params("", unique=True, length=64)),
    ("created_at", Timestamptz, _params(TimestamptzNow())),
    ("expires_at", Timestamptz, _params(TimestamptzNow())),
    ("max_views", Integer, _params(null=True)),
    ("views", Integer, _params(0)),
    ("revoked_at", Timestamptz, _params(null=True)),
]


async def forwards():
    manager = SharesMigration(migration_id=ID, app_name="video", description=DESCRIPTION)
    manager.add_table(class_name="VideoShare", tablename=TABLE, schema=None, columns=None)
    for column_name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="VideoShare",
            tablename=TABLE,
            column_name=column_name,
            db_column_name=column_name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
