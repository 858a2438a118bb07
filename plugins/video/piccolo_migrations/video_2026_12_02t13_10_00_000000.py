"""The checksum S3 recorded for each video's upload, handed to the transcoder by key."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T13:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "upload checksums"


def _nullable_varchar(length: int) -> dict:
    return {
        "length": length,
        "default": None,
        "null": True,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="video", description=DESCRIPTION)
    for column_name, length in (("checksum_algorithm", 16), ("checksum", 128)):
        manager.add_column(
            table_class_name="Video",
            tablename="videos",
            column_name=column_name,
            db_column_name=column_name,
            column_class_name="Varchar",
            column_class=Varchar,
            params=_nullable_varchar(length),
            schema=None,
        )
    return manager
