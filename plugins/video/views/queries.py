"""The view counts' one write: add each video's pending views to its row."""

from __future__ import annotations

import uuid

import orjson

from core.db import engine_kind, write_transaction
from plugins.video.statements import Statement
from plugins.video.tables import Video

# Videos per statement: a flush of a busy minute stays a few statements, each well within
# what either engine takes in one.
VIDEOS_PER_STATEMENT = 10_000

# The counts bind as two arrays on PostgreSQL, as one JSON array of [id, views] on SQLite.
ADD_VIEWS = Statement(
    "UPDATE videos SET view_count = videos.view_count + v.views "
    "FROM unnest($1::uuid[], $2::bigint[]) AS v(id, views) WHERE videos.id = v.id",
    sqlite="UPDATE videos SET view_count = videos.view_count + v.views "
           "FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS views "
           "FROM json_each($1)) AS v WHERE videos.id = v.id",
)


async def add_views(counts: dict[str, int]) -> None:
    """Add the views of every video in one transaction, thousands of videos a statement (a
    statement per video, built by Piccolo, cost a busy server a large share of its CPU:
    docs/decisions.md). A video deleted since matches no row: its views are dropped. Ids
    go in order, so concurrent flushes of other processes lock shared rows in the same
    order."""
    ordered = sorted(counts.items())
    postgres = engine_kind(Video._meta.db) == "postgres"
    async with write_transaction(Video):
        for start in range(0, len(ordered), VIDEOS_PER_STATEMENT):
            chunk = ordered[start:start + VIDEOS_PER_STATEMENT]
            if postgres:
                await ADD_VIEWS.fetch([uuid.UUID(video_id) for video_id, _ in chunk],
                                      [views for _, views in chunk])
            else:
                await ADD_VIEWS.fetch(orjson.dumps(chunk).decode())
