"""Readiness: the database answers, and every enabled plugin's migrations are applied."""

from __future__ import annotations

import logging

from piccolo.conf.apps import AppConfig
from piccolo.engine.base import Engine

from core.db.engines import engine_kind, ping
from core.db.migrations import migration_modules
from core.errors import NotReady

log = logging.getLogger("itube.db")

_MIGRATION_TABLE_FOUND = {
    "postgres": "SELECT to_regclass('migration') IS NOT NULL AS present",
    "sqlite": "SELECT count(*) > 0 AS present FROM sqlite_master "
              "WHERE type = 'table' AND name = 'migration'",
}


class MigrationsPending(NotReady):
    """The database answers, but lacks migrations the running code expects."""


class DatabaseReadiness:
    """The `database` readiness check: the database answers, and every enabled plugin's
    migrations are applied. Once all are seen applied it stops asking: nothing unapplies
    them under a running app (a release that brings new ones starts new processes)."""

    def __init__(self, engine: Engine, apps: list[AppConfig]) -> None:
        self.engine = engine
        self.apps = apps
        self._all_applied = False
        self._reported: frozenset[str] = frozenset()

    async def __call__(self) -> None:
        await ping(self.engine)
        if self._all_applied:
            return
        applied = await self._applied()
        names = [
            f"{app.app_name}:{migration}"
            for app in self.apps
            for migration in sorted(migration_modules(app))
            if (app.app_name, migration) not in applied
        ]
        if names:
            self._report(names)
            raise MigrationsPending(f"migrations not applied: {', '.join(names)}")
        self._all_applied = True

    async def _applied(self) -> set[tuple[str, str]]:
        """(app, migration) pairs recorded in Piccolo's `migration` table, read through this
        app's engine (the table class is bound to whichever app started last), and without
        creating the table: a probe only looks."""
        [found] = await self.engine.run_ddl(_MIGRATION_TABLE_FOUND[engine_kind(self.engine)])
        if not found["present"]:
            return set()
        rows = await self.engine.run_ddl("SELECT app_name, name FROM migration")
        return {(row["app_name"], row["name"]) for row in rows}

    def _report(self, names: list[str]) -> None:
        if frozenset(names) != self._reported:  # once per change, not once per probe
            self._reported = frozenset(names)
            log.warning("migrations pending; run `itube migrate`", extra={"pending": names})
