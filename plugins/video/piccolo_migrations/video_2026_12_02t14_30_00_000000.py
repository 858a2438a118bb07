"""The transcoder contract v2: progress, failure codes and leases on each video."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.base import Column
from piccolo.columns.column_types import Integer, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T14:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "transcoder progress, failure codes and leases"


def _params(default: object = None, *, null: bool = True, index: bool = False,
            **extra: object) -> dict:
    return {
        **extra,
        "default": default,
        "null": null,
        "primary_key": False,
        "unique": False,
        "index": index,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }


COLUMNS: list[tuple[str, type[Column], dict]] = [
    ("progress", Integer, _params()),
    ("progress_stage", Varchar, _params(length=32)),
    ("progress_eta_seconds", Integer, _params()),
    ("failure_code", Varchar, _params(length=32)),
    ("lease_token_hash", Varchar, _params(length=64)),
    # The lease sweep looks for expired leases by this index.
    ("lease_expires_at", Timestamptz, _params(index=True)),
    ("lease_attempts", Integer, _params(0, null=False)),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="video", description=DESCRIPTION)
    for column_name, column_class, params in COLUMNS:
        manager.add_column(
            table_class_name="Video",
            tablename="videos",
            column_name=column_name,
            db_column_name=column_name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
            schema=None,
        )
    return manager
