"""The share queries a request makes use the indexes the migration creates (both engines):
opening a link finds it by its token's hash, the owner's list reads the video's links from
`video_shares_video_created_idx` (after a cursor, a range of it)."""

from __future__ import annotations

import datetime as dt
import uuid

from core.db import engine_kind
from plugins.video.pagination import Cursor
from plugins.video.shares import queries
from plugins.video.shares.tables import VideoShare
from plugins.video.statements import Statement
from tests.video.shares.support import video_of
from tests.video.support import run_in_app

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
VIDEOS, LINKS_EACH = 20, 100


async def _fill(video_ids: list[uuid.UUID]) -> None:
    rows = [VideoShare(id=uuid.uuid4(), video=video_id, token_hash=uuid.uuid4().hex * 2,
                       created_at=T0 + dt.timedelta(seconds=index), expires_at=T0,
                       max_views=None, views=0)
            for video_id in video_ids for index in range(LINKS_EACH)]
    for start in range(0, len(rows), 500):
        await VideoShare.insert(*rows[start:start + 500])
    await VideoShare._meta.db.run_ddl("ANALYZE")


async def _plan(query: object) -> str:
    """The plan of a Piccolo query, bound as when the app runs it."""
    engine = VideoShare._meta.db
    sql, values = query.querystrings[0].compile_string(engine.engine_type)  # type: ignore
    prefix = "EXPLAIN QUERY PLAN " if engine_kind(engine) == "sqlite" else "EXPLAIN "
    rows = await Statement(prefix + _numbered(sql, engine_kind(engine))).fetch(*values)
    return "\n".join(str(list(dict(row).values())[-1]) for row in rows)


def _numbered(sql: str, kind: str) -> str:
    """Statement takes `$n` parameters on both engines."""
    if kind != "sqlite":
        return sql
    parts = sql.split("?")
    return "".join(part + (f"${index}" if index < len(parts) else "")
                   for index, part in enumerate(parts, start=1))


def test_a_page_of_links_reads_the_videos_index_in_order(client):
    video_ids = [video_of(client) for _ in range(VIDEOS)]
    run_in_app(client, lambda: _fill(video_ids))
    after = Cursor(id=uuid.uuid4(), created_at=T0 + dt.timedelta(seconds=50))
    for cursor in (None, after):
        query = queries.page_query(video_ids[3], cursor, 21)
        plan = run_in_app(client, lambda q=query: _plan(q))
        assert "video_shares_video_created_idx" in plan, plan


def test_an_open_finds_the_link_by_its_hash(client):
    video_ids = [video_of(client) for _ in range(VIDEOS)]
    run_in_app(client, lambda: _fill(video_ids))
    query = queries.spend_view_query("0" * 64, dt.datetime.now(dt.UTC))
    plan = run_in_app(client, lambda: _plan(query))
    assert "video_shares_token_hash_key" in plan or "sqlite_autoindex_video_shares" in plan, plan


def test_a_playlist_request_finds_the_link_by_its_hash(client):
    video_ids = [video_of(client) for _ in range(VIDEOS)]
    run_in_app(client, lambda: _fill(video_ids))
    query = queries.playable_query("0" * 64, dt.datetime.now(dt.UTC))
    plan = run_in_app(client, lambda: _plan(query))
    assert "video_shares_token_hash_key" in plan or "sqlite_autoindex_video_shares" in plan, plan
