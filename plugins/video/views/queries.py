"""The view counts' one write: add each video's pending views to its count."""

from __future__ import annotations

import orjson

from core.db import engine_kind, write_transaction
from plugins.video.statements import Statement
from plugins.video.tables import Video

# Videos per statement: a flush of a busy minute stays a few statements, each well within
# what either engine takes in one.
VIDEOS_PER_STATEMENT = 10_000

# The counts bind as two arrays on PostgreSQL, as one JSON array of [id, views] on SQLite.
# Joined with `videos`, so a video deleted since gets no row (its views are dropped); in id
# order, so concurrent flushes of other processes lock shared rows in the same order.
# (SQLite reads `ON CONFLICT` after a join's `ON` as the join's unless a WHERE comes
# between.)
_UPSERT = ("ON CONFLICT (video_id) DO UPDATE "
           "SET views = video_view_counts.views + excluded.views")
ADD_VIEWS = Statement(
    "INSERT INTO video_view_counts (video_id, views) SELECT v.id, v.views "
    "FROM unnest($1::uuid[], $2::bigint[]) AS v(id, views) JOIN videos ON videos.id = v.id "
    f"ORDER BY v.id {_UPSERT}",
    sqlite="INSERT INTO video_view_counts (video_id, views) SELECT v.id, v.views "
           "FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS views "
           "FROM json_each($1)) AS v JOIN videos ON videos.id = v.id WHERE true "
           f"ORDER BY v.id {_UPSERT}",
)


async def add_views(counts: dict[str, int]) -> None:
    """Add the views of every video in one transaction, thousands of videos a statement (a
    statement per video, built by Piccolo, cost a busy server a large share of its CPU:
    docs/decisions.md). The ids are sorted, so flushes lock alike, and bound as text, which
    asyncpg reads as UUIDs in C: made into `uuid.UUID`s and sorted with their counts, they
    cost the flush three times the CPU."""
    video_ids = sorted(counts)
    postgres = engine_kind(Video._meta.db) == "postgres"
    async with write_transaction(Video):
        for start in range(0, len(video_ids), VIDEOS_PER_STATEMENT):
            chunk = video_ids[start:start + VIDEOS_PER_STATEMENT]
            views = [counts[video_id] for video_id in chunk]
            if postgres:
                await ADD_VIEWS.fetch(chunk, views)
            else:
                await ADD_VIEWS.fetch(orjson.dumps(list(zip(chunk, views, strict=True))).decode())
