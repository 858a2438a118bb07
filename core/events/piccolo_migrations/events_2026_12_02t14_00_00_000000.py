"""The event outbox and the sinks' delivery offsets.

Raw DDL for each engine: SQLite reuses the largest rowid once its row is deleted unless
the key is AUTOINCREMENT, and a reused id would hide an event behind a sink's offset.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-02T14:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "event outbox"

POSTGRES = (
    "CREATE TABLE IF NOT EXISTS event_outbox (id BIGSERIAL PRIMARY KEY, "
    "type VARCHAR(64) NOT NULL, subject VARCHAR(255) NOT NULL, owner_id VARCHAR(255), "
    "occurred_at TIMESTAMPTZ NOT NULL, data TEXT NOT NULL)",
)
SQLITE = (
    "CREATE TABLE IF NOT EXISTS event_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "type VARCHAR(64) NOT NULL, subject VARCHAR(255) NOT NULL, owner_id VARCHAR(255), "
    "occurred_at TIMESTAMPTZ NOT NULL, data TEXT NOT NULL)",
)
COMMON = (
    "CREATE INDEX IF NOT EXISTS event_outbox_owner_id_idx ON event_outbox (owner_id, id)",
    "CREATE INDEX IF NOT EXISTS event_outbox_occurred_at_idx ON event_outbox (occurred_at)",
    "CREATE TABLE IF NOT EXISTS event_sink_offsets (name VARCHAR(200) PRIMARY KEY, "
    "last_id BIGINT NOT NULL DEFAULT 0, updated_at TIMESTAMPTZ NOT NULL)",
)
BACKWARDS = ("DROP TABLE IF EXISTS event_sink_offsets", "DROP TABLE IF EXISTS event_outbox")


class OutboxMigration(MigrationManager):
    async def run(self, backwards: bool = False):
        await super().run(backwards=backwards)
        if self.preview:
            return
        engine = engine_finder()
        assert engine is not None
        own = POSTGRES if isinstance(engine, PostgresEngine) else SQLITE
        for statement in BACKWARDS if backwards else (*own, *COMMON):
            await engine.run_ddl(statement)


async def forwards():
    return OutboxMigration(migration_id=ID, app_name="events", description=DESCRIPTION)
