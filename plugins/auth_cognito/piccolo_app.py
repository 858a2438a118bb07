"""The auth_cognito plugin as a Piccolo app: its users table and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.auth_cognito.tables import CognitoUser

APP_CONFIG = AppConfig(
    app_name="auth_cognito",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[CognitoUser],
    migration_dependencies=[],
    commands=[],
)
