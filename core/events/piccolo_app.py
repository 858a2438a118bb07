"""The kernel's own Piccolo app: the event outbox and the sinks' delivery offsets."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.events.tables import EventOutbox, EventSinkOffset

APP_CONFIG = AppConfig(
    app_name="events",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[EventOutbox, EventSinkOffset],
    migration_dependencies=[],
    commands=[],
)
