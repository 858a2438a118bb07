"""The webhook delivery log and the endpoints' states.

A delivery is unique on `(endpoint, event_id)`, so an event the dispatcher offers again
queues nothing new: a composite unique index of its own, made after the table (Piccolo
runs a migration's raw steps before its tables, so this migration's manager adds it once
the table exists).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import (
    BigInt,
    BigSerial,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.base import Column
from piccolo.columns.indexes import IndexMethod
from piccolo.engine.finder import engine_finder

ID = "2026-12-02T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "webhook deliveries and endpoint states"

DELIVERIES = "webhook_deliveries"
STATES = "webhook_endpoint_states"
UNIQUE_DELIVERY = (
    "CREATE UNIQUE INDEX IF NOT EXISTS webhook_deliveries_endpoint_event_idx "
    f"ON {DELIVERIES} (endpoint, event_id)"
)


class DeliveriesMigration(MigrationManager):
    """Creates the tables, then the deliveries' composite unique index."""

    async def run(self, backwards: bool = False):
        await super().run(backwards=backwards)
        if not backwards and not self.preview:
            engine = engine_finder()
            assert engine is not None
            await engine.run_ddl(UNIQUE_DELIVERY)


def _params(**given):
    params = {
        "default": None,
        "null": False,
        "primary_key": False,
        "unique": False,
        "index": False,
        "index_method": IndexMethod.btree,
        "choices": None,
        "db_column_name": None,
        "secret": False,
    }
    params.update(given)
    return params


DELIVERY_COLUMNS: list[tuple[str, type[Column], dict]] = [
    ("id", BigSerial, _params(default=None, primary_key=True)),
    ("endpoint", Varchar, _params(length=64, default="")),
    ("event_id", BigInt, _params(default=0)),
    ("event_type", Varchar, _params(length=64, default="")),
    ("payload", Text, _params(default="")),
    ("created_at", Timestamptz, _params(default=None)),
    ("next_attempt_at", Timestamptz, _params(null=True, index=True)),
    ("attempts", Integer, _params(default=0)),
    ("claims", Integer, _params(default=0)),
    ("last_attempt_at", Timestamptz, _params(null=True)),
    ("last_status_code", Integer, _params(null=True)),
    ("last_latency_ms", Integer, _params(null=True)),
    ("last_error", Text, _params(null=True)),
    ("delivered_at", Timestamptz, _params(null=True)),
    ("abandoned_at", Timestamptz, _params(null=True)),
]

STATE_COLUMNS: list[tuple[str, type[Column], dict]] = [
    ("name", Varchar, _params(length=64, default="", primary_key=True)),
    ("config_digest", Varchar, _params(length=64, default="")),
    ("failing_since", Timestamptz, _params(null=True)),
    ("disabled_at", Timestamptz, _params(null=True)),
    ("disabled_reason", Text, _params(null=True)),
]


async def forwards():
    manager = DeliveriesMigration(
        migration_id=ID, app_name="webhooks", description=DESCRIPTION
    )
    for class_name, tablename, columns in (
        ("WebhookDelivery", DELIVERIES, DELIVERY_COLUMNS),
        ("WebhookEndpointState", STATES, STATE_COLUMNS),
    ):
        manager.add_table(class_name=class_name, tablename=tablename, schema=None, columns=None)
        for name, column_class, params in columns:
            manager.add_column(
                table_class_name=class_name,
                tablename=tablename,
                column_name=name,
                db_column_name=name,
                column_class_name=column_class.__name__,
                column_class=column_class,
                params=params,
                schema=None,
            )
    return manager
