"""The database: a Piccolo engine chosen by URL with every wait bounded, bound to every
enabled plugin's tables, and a small migration runner over each plugin's
`piccolo_migrations/` folder.

A database that is down, frozen, out of connections or locked is a `ServiceUnavailable`
(503 with `Retry-After`) raised by the engine itself, so no route catches anything."""

from core.db.bounded import BoundedPostgresEngine, BoundedSQLiteEngine
from core.db.engines import (
    SQLITE_UNBOUNDED_LOCK_WAIT,
    bind,
    close_pool,
    engine_kind,
    make_engine,
    open_pool,
    ping,
    pool_usage,
    postgres_config,
    sqlite_path,
)
from core.db.faults import (
    REPORT_EVERY_SECONDS,
    UNAVAILABLE,
    FaultGuard,
    is_unavailable,
    left_unanswered,
)
from core.db.migrations import (
    MIGRATION_LOCK_KEY,
    applied_migrations,
    migrate_backwards,
    migrate_forwards,
    migration_lock,
    migration_modules,
    pending_migrations,
    registry_from_environment,
)
from core.db.readiness import DatabaseReadiness, MigrationsPending
from core.db.writes import INTEGRITY_ERRORS, is_unique_violation, write_transaction

__all__ = [
    "INTEGRITY_ERRORS",
    "MIGRATION_LOCK_KEY",
    "REPORT_EVERY_SECONDS",
    "SQLITE_UNBOUNDED_LOCK_WAIT",
    "UNAVAILABLE",
    "BoundedPostgresEngine",
    "BoundedSQLiteEngine",
    "DatabaseReadiness",
    "FaultGuard",
    "MigrationsPending",
    "applied_migrations",
    "bind",
    "close_pool",
    "engine_kind",
    "is_unavailable",
    "is_unique_violation",
    "left_unanswered",
    "make_engine",
    "migrate_backwards",
    "migrate_forwards",
    "migration_lock",
    "migration_modules",
    "open_pool",
    "pending_migrations",
    "ping",
    "pool_usage",
    "postgres_config",
    "registry_from_environment",
    "sqlite_path",
    "write_transaction",
]
