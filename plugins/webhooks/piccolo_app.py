"""The webhooks plugin as a Piccolo app: its tables and migrations."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from plugins.webhooks.tables import WebhookDelivery, WebhookEndpointState

APP_CONFIG = AppConfig(
    app_name="webhooks",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[WebhookDelivery, WebhookEndpointState],
    migration_dependencies=[],
    commands=[],
)
