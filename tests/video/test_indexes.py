"""The listing, by-key and by-id statements use the indexes the migrations create (both engines)."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from core.db import engine_kind
from plugins.video import statements
from plugins.video.pagination import Sort
from plugins.video.search import DEFAULT_SEARCH_CONFIG, parse_query
from plugins.video.statements import Statement
from plugins.video.tables import Video, VideoViewCount
from tests.video.support import run_in_app

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ROWS = 3000


def _rows():
    for index in range(ROWS):
        video_id = uuid.uuid4()
        owner = f"user{index % 50}"
        yield Video(
            id=video_id, owner_id=owner, title=f"t{index % 97}", description="",
            visibility=("PUBLIC", "UNLISTED", "PRIVATE")[index % 3],
            processing_status=("COMPLETED", "IN_PROGRESS")[index % 2 == 0 and index % 7 == 0],
            video_s3_key=f"videos/{owner}/{video_id}", size_bytes=1, content_type="video/mp4",
            created_at=T0 + dt.timedelta(seconds=index // 3), updated_at=T0, version=1,
        )


async def _fill_and_analyze() -> None:
    """The videos, every other one viewed."""
    rows = list(_rows())
    counts = [VideoViewCount(video_id=row.id, views=index)
              for index, row in enumerate(rows) if index % 2]
    for start in range(0, len(rows), 500):
        await Video.insert(*rows[start:start + 500])
        await VideoViewCount.insert(*counts[start // 2:(start + 500) // 2])
    await Video._meta.db.run_ddl("ANALYZE")


async def _plan(statement: Statement, args: tuple) -> str:
    """The plan of `statement` run with `args` (bound as when the app runs it)."""
    explain = Statement(f"EXPLAIN {statement.sql['postgres']}",
                        f"EXPLAIN QUERY PLAN {statement.sql['sqlite']}")
    rows = await explain.fetch(*args)
    return "\n".join(str(list(dict(row).values())[-1]) for row in rows)


# Relevance is the order of a search only.
UNSEARCHED_SORTS = [sort for sort in Sort if sort is not Sort.RELEVANCE]
SCOPES = {"public": (True, None), "owner": (False, "user7"), "uploader": (True, "user7")}
DATES = {"no dates": (False, False), "after": (True, False), "before": (False, True),
         "between": (True, True)}


def _listing_plans():
    """Every listing the API offers: each scope, sort and date filter, first and next page,
    bound as the app binds it."""
    values = {"owner_id": "user7", "created_after": T0 + dt.timedelta(seconds=100),
              "created_before": T0 + dt.timedelta(seconds=900), "id": uuid.uuid4(),
              "limit": 21}
    keys = {Sort.NEWEST: T0 + dt.timedelta(seconds=500), Sort.OLDEST: T0 + dt.timedelta(
        seconds=500), Sort.TITLE: "t50"}
    for (scope, (public, owner)), sort, (dates, (after, before)), cursor in itertools.product(
            SCOPES.items(), UNSEARCHED_SORTS, DATES.items(), (False, True)):
        listing = statements.listing_statement(
            public=public, owner=owner is not None, sort=sort, created_after=after,
            created_before=before, after_cursor=cursor)
        args = tuple({**values, "key": keys[sort]}[slot] for slot in listing.slots)
        name = f"{scope} {sort.value} {dates} {'next' if cursor else 'first'} page"
        yield name, (scope, sort, after or before), (listing.statement, args)


def _usable_indexes(scope: str, sort: Sort, dated: bool) -> set[str]:
    """The indexes a listing may be read through. The public list's own, in order; within
    dates, the title sort may as fairly read the dates' range and sort it. One owner's few
    rows may be fetched through either of the owner's indexes and sorted."""
    if scope != "public":
        return {"videos_owner_listing_idx", "videos_owner_title_idx"}
    if sort is Sort.TITLE:
        return {"videos_public_title_idx", "videos_public_listing_idx"} if dated else {
            "videos_public_title_idx"}
    return {"videos_public_listing_idx"}


def _search_plans():
    """Every search: each scope and sort, first and next page, bound as the app binds it."""
    kind = engine_kind(Video._meta.db)
    query = parse_query("t50")
    values = {"owner_id": "user7", "id": uuid.uuid4(), "limit": 21,
              "q": query.text if kind == "postgres" else query.fts5}
    keys = {Sort.NEWEST: T0 + dt.timedelta(seconds=500), Sort.OLDEST: T0 + dt.timedelta(
        seconds=500), Sort.TITLE: "t50", Sort.RELEVANCE: 0.1}
    for (scope, (public, owner)), sort, cursor in itertools.product(
            SCOPES.items(), Sort, (False, True)):
        listing = statements.listing_statement(
            public=public, owner=owner is not None, sort=sort, created_after=False,
            created_before=False, after_cursor=cursor, search_config=DEFAULT_SEARCH_CONFIG)
        args = tuple({**values, "key": keys[sort]}[slot] for slot in listing.slots)
        name = f"{scope} search by {sort.value} {'next' if cursor else 'first'} page"
        yield name, (scope, sort), (listing.statement, args)


def test_every_search_reads_an_index(client):
    """No search reads every video: PostgreSQL ranks the public matches from their GIN
    index (one owner's few videos may come from the owner's index, filtered); SQLite
    looks the matches up in its FTS5 table and reads the videos by rowid."""
    run_in_app(client, _fill_and_analyze)
    kind = engine_kind(Video._meta.db)
    for name, (scope, sort), (statement, args) in _search_plans():
        plan = run_in_app(client, lambda s=statement, a=args: _plan(s, a))
        _assert_no_scan(plan, kind, name)
        if kind == "postgres" and scope == "public" and sort is Sort.RELEVANCE:
            assert "videos_public_search_idx" in plan, f"{name}:\n{plan}"
        elif kind == "postgres":
            usable = {"videos_public_search_idx", "videos_search_idx",
                      *_usable_indexes(scope, sort, False)}
            assert any(index in plan for index in usable), f"{name}:\n{plan}"
        else:
            assert "videos_search VIRTUAL TABLE" in plan, f"{name}:\n{plan}"


def _lookup_plans():
    return {
        "by key": (statements.ID_BY_KEY, ("videos/user1/x",)),
        "by id": (statements.BY_ID, (uuid.uuid4(),)),
    }


# The primary key's index, as each engine names it: what "by id" uses.
PRIMARY_KEY = {"postgres": "videos_pkey", "sqlite": "sqlite_autoindex_videos_1"}
# The view counts' primary key: what reads a video's count with its row.
COUNT_KEY = {"postgres": "video_view_counts_pkey",
             "sqlite": "sqlite_autoindex_video_view_counts_1"}


def _assert_no_scan(plan: str, kind: str, name: str) -> None:
    if kind == "postgres":
        assert "Seq Scan" not in plan, f"{name}:\n{plan}"
    else:
        for table in ("videos", "video_view_counts"):
            assert f"SCAN {table}\n" not in plan + "\n", f"{name}:\n{plan}"


def test_every_listing_query_uses_its_index(client):
    run_in_app(client, _fill_and_analyze)
    kind = engine_kind(Video._meta.db)
    for name, (scope, sort, dated), (statement, args) in _listing_plans():
        plan = run_in_app(client, lambda s=statement, a=args: _plan(s, a))
        usable = _usable_indexes(scope, sort, dated)
        assert any(index in plan for index in usable), f"{name} on {kind}:\n{plan}"
        if len(usable) == 1:
            # No sort step: the index already yields the public list in order.
            assert "Sort" not in plan and "TEMP B-TREE" not in plan, f"{name} on {kind}:\n{plan}"
        _assert_no_scan(plan, kind, name)


def test_every_lookup_uses_its_index(client):
    run_in_app(client, _fill_and_analyze)
    kind = engine_kind(Video._meta.db)
    for name, (statement, args) in _lookup_plans().items():
        plan = run_in_app(client, lambda s=statement, a=args: _plan(s, a))
        expected = PRIMARY_KEY[kind] if name == "by id" else "video_s3_key"
        assert expected in plan, f"{name} on {kind}:\n{plan}"
        if name == "by id":
            assert COUNT_KEY[kind] in plan, f"{name} on {kind}:\n{plan}"
        _assert_no_scan(plan, kind, name)
