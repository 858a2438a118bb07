"""Create the entries table (written by hand; `piccolo migrations new guestbook --auto`
writes the same kind of file)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Text, Timestamptz, Varchar

ID = "2026-11-24T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "guest book entries"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="guestbook", description=DESCRIPTION)
    manager.add_table(class_name="GuestbookEntry", tablename="guestbook_entries")
    for name, column_class, params in (
        ("author", Varchar, {"length": 100, "default": ""}),
        ("text", Text, {"default": ""}),
        ("created_at", Timestamptz, {}),
    ):
        manager.add_column(
            table_class_name="GuestbookEntry",
            tablename="guestbook_entries",
            column_name=name,
            db_column_name=name,
            column_class_name=column_class.__name__,
            column_class=column_class,
            params=params,
        )
    return manager
