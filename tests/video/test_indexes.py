"""The listing and by-key queries use the indexes the migrations create (both engines)."""

from __future__ import annotations

import datetime as dt
import uuid

from core.db import engine_kind
from plugins.video import queries
from plugins.video.pagination import Cursor
from plugins.video.tables import Video
from tests.video.support import run_in_app

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ROWS = 3000


def _rows():
    for index in range(ROWS):
        video_id = uuid.uuid4()
        owner = f"user{index % 50}"
        yield Video(
            id=video_id, owner_id=owner, title="t", description="",
            visibility=("PUBLIC", "UNLISTED", "PRIVATE")[index % 3],
            processing_status=("COMPLETED", "IN_PROGRESS")[index % 2 == 0 and index % 7 == 0],
            video_s3_key=f"videos/{owner}/{video_id}", size_bytes=1, content_type="video/mp4",
            created_at=T0 + dt.timedelta(seconds=index // 3), updated_at=T0, version=1,
        )


async def _fill_and_analyze() -> None:
    rows = list(_rows())
    for start in range(0, len(rows), 500):
        await Video.insert(*rows[start:start + 500])
    await Video._meta.db.run_ddl("ANALYZE")


async def _plan(query) -> str:
    engine = Video._meta.db
    prefix = "EXPLAIN" if engine_kind(engine) == "postgres" else "EXPLAIN QUERY PLAN"
    rows = await Video.raw(f"{prefix} {query}")
    return "\n".join(str(list(row.values())[-1]) for row in rows)


def _plans():
    cursor = Cursor(created_at=T0 + dt.timedelta(seconds=500), id=uuid.uuid4())
    return {
        "public first page": queries.page_query(queries.public_filter(), 21, None),
        "public next page": queries.page_query(queries.public_filter(), 21, cursor),
        "owner first page": queries.page_query(queries.owner_filter("user7"), 21, None),
        "owner next page": queries.page_query(queries.owner_filter("user7"), 21, cursor),
        "by key": queries.id_for_key_query("videos/user1/x"),
    }


EXPECTED_INDEX = {
    "public first page": "videos_public_listing_idx",
    "public next page": "videos_public_listing_idx",
    "owner first page": "videos_owner_listing_idx",
    "owner next page": "videos_owner_listing_idx",
    "by key": "video_s3_key",
}


def test_every_listing_query_uses_its_index(client):
    run_in_app(client, _fill_and_analyze)
    kind = engine_kind(Video._meta.db)
    for name, query in _plans().items():
        plan = run_in_app(client, lambda q=query: _plan(q))
        assert EXPECTED_INDEX[name] in plan, f"{name} on {kind}:\n{plan}"
        if name.startswith("public"):
            # No sort step: the index already yields newest first. (An owner's few rows
            # may be fetched through the index and sorted: the planner's fair choice.)
            assert "Sort" not in plan and "TEMP B-TREE" not in plan, f"{name} on {kind}:\n{plan}"
        if kind == "postgres":
            assert "Seq Scan" not in plan, f"{name}:\n{plan}"
        else:
            assert "SCAN videos\n" not in plan + "\n", f"{name}:\n{plan}"
