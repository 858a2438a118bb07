from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Integer
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-01T20:30:20:545492"
VERSION = "1.38.0"
DESCRIPTION = "refresh token reuse detection, confirmation attempts"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="auth_local", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="LocalUser",
        tablename="auth_local_users",
        column_name="confirmation_attempts",
        db_column_name="confirmation_attempts",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": 0,
            "null": False,
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

    manager.add_column(
        table_class_name="LocalSession",
        tablename="auth_local_sessions",
        column_name="used_at",
        db_column_name="used_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
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
