"""Hand-written SQL for the hot reads, run through Piccolo's engine without its query builder.

Building a select with Piccolo (nested `QueryString`s bundled on every call) costs more
CPU than PostgreSQL spends answering a primary-key lookup. These statements are written
once with `$n` parameters: PostgreSQL gets them as they are (asyncpg prepares each once
per connection and keeps it in its statement cache), SQLite as `?n`. Running them through
`engine.run_querystring` keeps what the engine adds: the current transaction, the bounded
pool and the translation of faults into 503s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import attrs
from piccolo.querystring import QueryString

from core.events import insert_from
from plugins.video import search
from plugins.video.models import VideoRecord
from plugins.video.pagination import Sort
from plugins.video.tables import Video

_PARAMETER = re.compile(r"\$(\d+)")


class Statement:
    """One SQL statement, with its text for each engine kind (SQLite's, when it differs,
    written with the same `$n` parameters)."""

    def __init__(self, sql: str, sqlite: str | None = None) -> None:
        self.sql = {"postgres": sql, "sqlite": _PARAMETER.sub(r"?\1", sqlite or sql)}

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


# A video's views, from their own table (plugins/video/views/): none counted, no row.
VIEW_COUNT = ("COALESCE((SELECT views FROM video_view_counts "
              "WHERE video_view_counts.video_id = videos.id), 0)")
_FIELDS = [field.name for field in attrs.fields(VideoRecord)]
# What a row of `videos` is read as, in `VideoRecord`'s field order: a row's values are the
# record's arguments, in turn.
COLUMNS = ", ".join(f"{VIEW_COUNT} AS view_count" if name == "view_count" else name
                    for name in _FIELDS)
# The same, read again from a subquery that selected `COLUMNS`.
FIELDS = ", ".join(_FIELDS)
# Repeated literally (not as bound parameters) so the planners can use the partial indexes
# of the public listing (`videos_public_listing_idx`, `videos_public_title_idx`), whose
# predicate is exactly this.
PUBLIC_AND_COMPLETED = "visibility = 'PUBLIC' AND processing_status = 'COMPLETED'"
# Each sort: its key column, its direction, and the comparison that goes beyond a row.
ORDERS = {
    Sort.NEWEST: ("created_at", "DESC", "<"),
    Sort.OLDEST: ("created_at", "ASC", ">"),
    Sort.TITLE: ("title", "ASC", ">"),
    Sort.RELEVANCE: ("score", "DESC", "<"),
}

BY_ID = Statement(f"SELECT {COLUMNS} FROM videos WHERE id = $1")
ID_BY_KEY = Statement(
    "SELECT id, checksum_algorithm, checksum FROM videos WHERE video_s3_key = $1 LIMIT 1")


# A status change, compare-and-set on the version: $1 the id, $2 the version read, then
# the changed row's values ($3 …) in `STATUS_VALUES` order; RETURNING says it won.
STATUS_VALUES = ("processing_status", "failure_reason", "duration_seconds", "outputs",
                 "updated_at", "version", "failure_code", "progress", "progress_stage",
                 "progress_eta_seconds", "lease_token_hash", "lease_expires_at",
                 "lease_attempts")
_STATUS_SET = ", ".join(f"{name} = ${number}" for number, name in enumerate(STATUS_VALUES, 3))
_HISTORY_AT = 3 + len(STATUS_VALUES)  # $n of from_status, changed_by, reason in turn
_STATUS_AT, _UPDATED_AT = (f"${3 + STATUS_VALUES.index(name)}"
                           for name in ("processing_status", "updated_at"))
_HISTORY = ("INSERT INTO video_status_history "
            "(video, from_status, to_status, changed_at, changed_by, reason)")
_HISTORY_VALUES = f"${_HISTORY_AT}, {_STATUS_AT}, {_UPDATED_AT}, ${_HISTORY_AT + 1}, " \
                  f"${_HISTORY_AT + 2}"
CHANGE_STATUS = Statement(
    f"UPDATE videos SET {_STATUS_SET} WHERE id = $1 AND version = $2 RETURNING id")
RECORD_HISTORY = Statement(f"{_HISTORY} VALUES ($1, {_HISTORY_VALUES})")
# PostgreSQL only: the three as one statement (no BEGIN and COMMIT of their own); the
# event's values follow the history's. A row returned (the event's id) means it won.
CHANGE_STATUS_RECORDED = Statement(
    f"WITH changed AS ({CHANGE_STATUS.sql['postgres']}), "
    f"history AS ({_HISTORY} SELECT id, {_HISTORY_VALUES} FROM changed) "
    + insert_from("changed", _HISTORY_AT + 3))


@attrs.frozen
class ListingStatement:
    """A page of a listing, whose parameters are named: `slots` holds the name of the value
    bound to $1, $2, ... in turn."""

    statement: Statement
    slots: tuple[str, ...]

    async def fetch(self, values: dict[str, Any]) -> Sequence[Any]:
        return await self.statement.fetch(*(values[slot] for slot in self.slots))


@functools.cache
def listing_statement(
    *, public: bool, owner: bool, sort: Sort, created_after: bool, created_before: bool,
    after_cursor: bool, search_config: str | None = None,
) -> ListingStatement:
    """The page of a listing of this shape: public and completed videos, one owner's, or
    both; within the dates given; matching a search (`q`, in the text-search configuration
    `search_config`) or not; after a cursor's `key` and `id` or from the start. Written once
    per shape, so each database prepares and plans it once."""
    slots: list[str] = []

    def bind(name: str) -> str:
        if name not in slots:
            slots.append(name)
        return f"${slots.index(name) + 1}"

    where = [PUBLIC_AND_COMPLETED] if public else []
    if owner:
        where.append(f"owner_id = {bind('owner_id')}")
    if created_after:
        where.append(f"created_at >= {bind('created_after')}")
    if created_before:
        where.append(f"created_at < {bind('created_before')}")
    query = bind("q") if search_config is not None else ""
    column, direction, beyond = ORDERS[sort]
    keyset = []
    if after_cursor:
        # The first term bounds an index range scan, the second breaks ties by id.
        key, last_id = bind("key"), bind("id")
        keyset.append(f"{column} {beyond}= {key} AND ({column} {beyond} {key} OR id {beyond} "
                      f"{last_id})")
    limit = bind("limit")

    def sql(engine: str) -> str:
        if search_config is None:
            source, conditions = "videos", where + keyset
        elif sort is Sort.RELEVANCE:
            source, conditions = _scored(engine, search_config, query, where), keyset
        else:
            match = search.match_condition(engine, search_config, query)
            source, conditions = "videos", [*where, match, *keyset]
        selected = f"{FIELDS}, score" if sort is Sort.RELEVANCE else COLUMNS
        filtered = f"WHERE {' AND '.join(conditions)} " if conditions else ""
        return (f"SELECT {selected} FROM {source} {filtered}"
                f"ORDER BY {column} {direction}, id {direction} LIMIT {limit}")

    return ListingStatement(Statement(sql("postgres"), sql("sqlite")), tuple(slots))


def _scored(engine: str, config: str, query: str, where: list[str]) -> str:
    """The matching videos with their score, as a subquery the page is read from in order."""
    source, score, match = search.scored_source(engine, config, query)
    conditions = [*where, match] if match else where
    return (f"(SELECT {COLUMNS}, {score} AS score FROM {source} "
            f"WHERE {' AND '.join(conditions)}) AS scored")
