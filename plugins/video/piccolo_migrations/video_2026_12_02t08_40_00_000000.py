"""Full-text search over titles and descriptions (plugins/video/search.py).

PostgreSQL: a generated `tsvector` column, `search_vector`, and two GIN indexes on it, one
partial with the public listing's predicate, one over every video for the owner's
listing. The text-search configuration is fixed when the column is generated: this
migration uses the default of `[plugins.video] search_config`, "english"; another one
takes effect with `itube videos reindex-search`. SQLite: the FTS5 table `videos_search`
over `videos`, kept in step by triggers, filled from the existing rows.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

from core.db import engine_kind
from plugins.video import search

ID = "2026-12-02T08:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "full-text search"
# What the column is first generated with: search_config's default when it was written.
FIRST_CONFIG = "english"


async def create_search():
    engine = engine_finder()
    assert engine is not None
    if engine_kind(engine) == "postgres":
        statements = search.postgres_search_ddl(FIRST_CONFIG)
    else:
        statements = search.SQLITE_SEARCH_DDL
    for statement in statements:
        await engine.run_ddl(statement)


async def drop_search():
    engine = engine_finder()
    assert engine is not None
    postgres = engine_kind(engine) == "postgres"
    for statement in search.postgres_drop_ddl() if postgres else search.SQLITE_DROP_DDL:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="video", description=DESCRIPTION)
    manager.add_raw(create_search)
    manager.add_raw_backwards(drop_search)
    return manager
