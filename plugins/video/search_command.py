"""`itube videos reindex-search`: rebuild the search index for `search_config`.

PostgreSQL fixes a generated column's expression, the text-search configuration in it,
when the column is created: a changed `search_config` takes effect only once the column is
generated anew, which start-up insists on. SQLite's FTS5 table is rebuilt from `videos`
(its configuration does not change; a rebuild repairs it after a VACUUM renumbered rows).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import attrs
from piccolo.engine.base import Engine

from core import db
from core.config import DatabaseSection
from core.errors import ConfigError
from plugins.video import search


def add_command(commands: Any) -> None:
    """`reindex-search` under `itube videos`."""
    reindex = commands.add_parser(
        "reindex-search", help="rebuild the search index for search_config, then exit",
        description="PostgreSQL: generate the search column and its indexes anew with "
        "[plugins.video] search_config, in one transaction (it rewrites the videos table and "
        "locks it meanwhile). SQLite: rebuild the FTS5 table from the videos.",
    )
    reindex.set_defaults(func=run_reindex)


def run_reindex(args: argparse.Namespace) -> int:
    from core.app import prepare  # the CLI only: loading the app's plugins is not free
    from core.config import load_config
    from plugins.video.commands import run_started

    ctx = prepare(load_config(args.config))
    settings = ctx.settings("video")
    done = run_started("reindex-search",
                       lambda: asyncio.run(reindex(ctx.config.database, settings.search_config)))
    if done is None:
        return 1
    print(done)
    return 0


async def reindex(section: DatabaseSection, config: str) -> str:
    # Rebuilding may rightly take minutes: the statement bound of requests does not apply.
    engine = db.make_engine(attrs.evolve(section, statement_timeout_seconds=0.0))
    await db.open_pool(engine, section)
    try:
        return await rebuild_search(engine, config)
    finally:
        await db.close_pool(engine)


async def rebuild_search(engine: Engine, config: str) -> str:
    """Rebuild the search index of the database behind `engine`; what was done."""
    if db.engine_kind(engine) != "postgres":
        await engine.run_ddl(search.SQLITE_REBUILD)
        return f"{search.FTS_TABLE} rebuilt"
    if not await search.config_exists(engine, config):
        raise ConfigError(search.unknown_config_message(config))
    async with engine.transaction():
        for statement in [*search.postgres_drop_ddl(), *search.postgres_search_ddl(config)]:
            await engine.run_ddl(statement)
    return f"{search.SEARCH_COLUMN} generated with {config}"
