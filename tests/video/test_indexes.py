"""The listing, by-key and by-id statements use the indexes the migrations create (both engines)."""

from __future__ import annotations

import datetime as dt
import uuid

from core.db import engine_kind
from plugins.video import statements
from plugins.video.statements import Statement
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


async def _plan(statement: Statement, args: tuple) -> str:
    """The plan of `statement` run with `args` (bound as when the app runs it)."""
    kind = engine_kind(Video._meta.db)
    prefix = "EXPLAIN" if kind == "postgres" else "EXPLAIN QUERY PLAN"
    explain = Statement(f"{prefix} {statement.sql['postgres']}")
    rows = await explain.fetch(*args)
    return "\n".join(str(list(dict(row).values())[-1]) for row in rows)


def _plans():
    after, last_id = T0 + dt.timedelta(seconds=500), uuid.uuid4()
    return {
        "public first page": (statements.PUBLIC_FIRST, (21,)),
        "public next page": (statements.PUBLIC_AFTER, (after, last_id, 21)),
        "owner first page": (statements.OWNER_FIRST, ("user7", 21)),
        "owner next page": (statements.OWNER_AFTER, (after, last_id, "user7", 21)),
        "by key": (statements.ID_BY_KEY, ("videos/user1/x",)),
        "by id": (statements.BY_ID, (uuid.uuid4(),)),
    }


EXPECTED_INDEX = {
    "public first page": "videos_public_listing_idx",
    "public next page": "videos_public_listing_idx",
    "owner first page": "videos_owner_listing_idx",
    "owner next page": "videos_owner_listing_idx",
    "by key": "video_s3_key",
}
# The primary key's index, as each engine names it: what "by id" uses.
PRIMARY_KEY = {"postgres": "videos_pkey", "sqlite": "sqlite_autoindex_videos_1"}


def test_every_listing_query_uses_its_index(client):
    run_in_app(client, _fill_and_analyze)
    kind = engine_kind(Video._meta.db)
    for name, (statement, args) in _plans().items():
        plan = run_in_app(client, lambda s=statement, a=args: _plan(s, a))
        expected = PRIMARY_KEY[kind] if name == "by id" else EXPECTED_INDEX[name]
        assert expected in plan, f"{name} on {kind}:\n{plan}"
        if name.startswith("public"):
            # No sort step: the index already yields newest first. (An owner's few rows
            # may be fetched through the index and sorted: the planner's fair choice.)
            assert "Sort" not in plan and "TEMP B-TREE" not in plan, f"{name} on {kind}:\n{plan}"
        if kind == "postgres":
            assert "Seq Scan" not in plan, f"{name}:\n{plan}"
        else:
            assert "SCAN videos\n" not in plan + "\n", f"{name}:\n{plan}"
