"""Renditions: the outputs a transcoder reports with COMPLETED, kept with the video."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T16:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "the outputs reported with COMPLETED"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="video", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Video",
        tablename="videos",
        column_name="outputs",
        db_column_name="outputs",
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
