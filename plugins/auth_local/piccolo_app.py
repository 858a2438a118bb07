"""The auth_local plugin as a Piccolo app: accounts, sessions and their migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.auth_local.tables import LocalSession, LocalUser

APP_CONFIG = AppConfig(
    app_name="auth_local",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[LocalUser, LocalSession],
    migration_dependencies=[],
    commands=[],
)
