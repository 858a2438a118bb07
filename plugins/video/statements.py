"""Hand-written SQL for the hot reads, run through Piccolo's engine without its query builder.

Building a select with Piccolo (nested `QueryString`s bundled on every call) costs more
CPU than PostgreSQL spends answering a primary-key lookup. These statements are written
once with `$n` parameters: PostgreSQL gets them as they are (asyncpg prepares each once
per connection and keeps it in its statement cache), SQLite as `?n`. Running them through
`engine.run_querystring` keeps what the engine adds: the current transaction, the bounded
pool and the translation of faults into 503s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs
from piccolo.querystring import QueryString

from plugins.video.models import VideoRecord
from plugins.video.tables import Video

_PARAMETER = re.compile(r"\$(\d+)")


class Statement:
    """One SQL statement, with its text for each engine kind."""

    def __init__(self, sql: str) -> None:
        self.sql = {"postgres": sql, "sqlite": _PARAMETER.sub(r"?\1", sql)}

    def query(self, *args: Any) -> CompiledQuery:
        return CompiledQuery(self, list(args))

    async def fetch(self, *args: Any) -> Sequence[Any]:
        """The rows (asyncpg Records or dicts: both read by column name)."""
        engine = Video._meta.db
        rows: Sequence[Any] = await engine.run_querystring(self.query(*args))
        return rows


class CompiledQuery(QueryString):
    """A `QueryString` whose SQL is already written: nothing is bundled when it runs."""

    __slots__ = ("statement", "values")

    def __init__(self, statement: Statement, values: list[Any]) -> None:
        super().__init__("", query_type="select", table=Video)
        self.statement = statement
        self.values = values

    def compile_string(self, engine_type: str = "postgres") -> tuple[str, list[Any]]:
        return self.statement.sql[engine_type], self.values

    def __str__(self) -> str:
        return self.statement.sql["postgres"]


# In `VideoRecord`'s field order: a row's values are the record's arguments, in turn.
COLUMNS = ", ".join(field.name for field in attrs.fields(VideoRecord))
NEWEST_FIRST = "ORDER BY created_at DESC, id DESC"
# Repeated literally (not as bound parameters) so the planners can use the partial index
# `videos_public_listing_idx`, whose predicate is exactly this.
PUBLIC_AND_COMPLETED = "visibility = 'PUBLIC' AND processing_status = 'COMPLETED'"
# After a cursor ($1 created_at, $2 id): the first term bounds an index range scan, the
# second breaks created_at ties by id.
AFTER_CURSOR = "created_at <= $1 AND (created_at < $1 OR id < $2)"

BY_ID = Statement(f"SELECT {COLUMNS} FROM videos WHERE id = $1")
ID_BY_KEY = Statement("SELECT id FROM videos WHERE video_s3_key = $1 LIMIT 1")
PUBLIC_FIRST = Statement(
    f"SELECT {COLUMNS} FROM videos WHERE {PUBLIC_AND_COMPLETED} {NEWEST_FIRST} LIMIT $1"
)
PUBLIC_AFTER = Statement(
    f"SELECT {COLUMNS} FROM videos WHERE {PUBLIC_AND_COMPLETED} AND {AFTER_CURSOR} "
    f"{NEWEST_FIRST} LIMIT $3"
)
OWNER_FIRST = Statement(
    f"SELECT {COLUMNS} FROM videos WHERE owner_id = $1 {NEWEST_FIRST} LIMIT $2"
)
OWNER_AFTER = Statement(
    f"SELECT {COLUMNS} FROM videos WHERE owner_id = $3 AND {AFTER_CURSOR} "
    f"{NEWEST_FIRST} LIMIT $4"
)
