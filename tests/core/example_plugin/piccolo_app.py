"""The guest book as a Piccolo app: its tables and its migrations folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from tests.core.example_plugin.tables import GuestbookEntry

APP_CONFIG = AppConfig(
    app_name="guestbook",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[GuestbookEntry],
)
