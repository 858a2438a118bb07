"""The two statements of a relevance search read through its ranked list: the ranking
itself (every match's id and score, best first, up to a cap) and the rows of a page's ids
that are still public, completed and matching.

Both use the score and the match condition of `plugins.video.search`, so a ranked list
orders the matches exactly as the listing statement's relevance page does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from plugins.video import search
from plugins.video.statements import COLUMNS, PUBLIC_AND_COMPLETED, ListingStatement, Statement


def _binder(slots: list[str]) -> Callable[[str], str]:
    """`bind(name)`: the `$n` of a named value, numbered in order of first use."""

    def bind(name: str) -> str:
        if name not in slots:
            slots.append(name)
        return f"${slots.index(name) + 1}"

    return bind


@functools.cache
def ranking_statement(*, owner: bool, created_after: bool, created_before: bool,
                      search_config: str) -> ListingStatement:
    """The ids and scores of the public, completed videos matching `q` (of `owner_id`, within
    the dates given), best first and ties by id, both descending; at most `depth` of them."""
    slots: list[str] = []
    bind = _binder(slots)
    where = [PUBLIC_AND_COMPLETED]
    if owner:
        where.append(f"owner_id = {bind('owner_id')}")
    if created_after:
        where.append(f"created_at >= {bind('created_after')}")
    if created_before:
        where.append(f"created_at < {bind('created_before')}")
    query, depth = bind("q"), bind("depth")

    def sql(engine: str) -> str:
        source, score, match = search.scored_source(engine, search_config, query)
        conditions = [*where, match] if match else where
        return (f"SELECT id, score FROM (SELECT videos.id AS id, {score} AS score "
                f"FROM {source} WHERE {' AND '.join(conditions)}) AS scored "
                f"ORDER BY score DESC, id DESC LIMIT {depth}")

    return ListingStatement(Statement(sql("postgres"), sql("sqlite")), tuple(slots))


@functools.cache
def visible_statement(*, owner: bool, search_config: str) -> ListingStatement:
    """The rows among `ids` (a uuid[] on PostgreSQL, a JSON array of their text on SQLite)
    that are public and completed (and `owner_id`'s) and match `q` now: what a page read
    from a ranked list may show, read by primary key."""
    slots: list[str] = []
    bind = _binder(slots)
    ids = bind("ids")
    where = [PUBLIC_AND_COMPLETED]
    if owner:
        where.append(f"owner_id = {bind('owner_id')}")
    query = bind("q")

    def sql(engine: str) -> str:
        among = (f"id = ANY({ids}::uuid[])" if engine == "postgres"
                 else f"id IN (SELECT value FROM json_each({ids}))")
        match = search.match_condition(engine, search_config, query)
        return f"SELECT {COLUMNS} FROM videos WHERE {among} AND {' AND '.join([*where, match])}"

    return ListingStatement(Statement(sql("postgres"), sql("sqlite")), tuple(slots))
