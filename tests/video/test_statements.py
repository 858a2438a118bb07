"""The hand-written reads return exactly what Piccolo's query builder returns for the same
question: every visibility, status and owner, every cursor position and either end of
time, on both engines."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

import attrs
import pytest

from plugins.video import queries
from plugins.video.listing import Listing
from plugins.video.models import VideoRecord
from plugins.video.pagination import Cursor, Sort
from plugins.video.states import Status, Visibility
from plugins.video.tables import Video
from tests.video.support import insert_video, run_in_app

T0 = dt.datetime(2026, 3, 1, 9, 0, 0, tzinfo=dt.UTC)
OWNERS = ["alice", "bob"]
STATES = [(visibility, status) for visibility in Visibility for status in Status]
LIMITS = [1, 3, 100]


def _reference_record(row: dict[str, Any]) -> VideoRecord:
    return VideoRecord(**{**row, "visibility": Visibility(row["visibility"]),
                          "processing_status": Status(row["processing_status"])})


async def _reference_page(where: Any, limit: int, cursor: Cursor | None) -> list[VideoRecord]:
    """The listing as the query builder writes it."""
    if cursor is not None:
        where = where & (Video.created_at <= cursor.created_at) & (
            (Video.created_at < cursor.created_at) | (Video.id < cursor.id))
    rows = await (Video.select().where(where)
                  .order_by(Video.created_at, Video.id, ascending=False).limit(limit))
    return [_reference_record(row) for row in rows]


def _public() -> Any:
    return (Video.visibility == "PUBLIC") & (Video.processing_status == "COMPLETED")


def _fill(client) -> list[uuid.UUID]:
    """Every state for each owner, three rows to a created_at and a title to every fourth
    (ties broken by id), some with a thumbnail, a duration or a failure reason."""
    ids = []
    for index, (visibility, status) in enumerate(STATES * 2):
        for owner in OWNERS:
            ids.append(insert_video(
                client, owner_id=owner, visibility=visibility.value,
                processing_status=status.value, created_at=T0 + dt.timedelta(
                    seconds=index // 3, microseconds=index % 2),
                title=f"v{index % 4}",
                thumbnail_s3_key=f"thumbnails/{owner}/{index}.jpg" if index % 2 else None,
                duration_seconds=12.5 if status is Status.COMPLETED else None,
                failure_reason="broken" if status is Status.FAILED else None,
            ))
    return ids


async def _cursors() -> list[Cursor | None]:
    """No cursor, a cursor at every row (whatever its state), and either end of time."""
    rows = await Video.select(Video.created_at, Video.id)
    return [None, *(Cursor(created_at=row["created_at"], id=row["id"]) for row in rows),
            Cursor(created_at=dt.datetime.min.replace(tzinfo=dt.UTC), id=uuid.UUID(int=0)),
            Cursor(created_at=dt.datetime.max.replace(tzinfo=dt.UTC),
                   id=uuid.UUID(int=2**128 - 1))]


async def _compare_pages() -> int:
    compared = 0
    for cursor in await _cursors():
        for limit in LIMITS:
            expected = await _reference_page(_public(), limit, cursor)
            listing = Listing(cursor=cursor)
            assert await queries.public_page(listing, limit) == expected, (cursor, limit)
            compared += bool(expected)
            for owner in OWNERS:
                expected = await _reference_page(Video.owner_id == owner, limit, cursor)
                assert await queries.owner_page(owner, listing, limit) == expected, (
                    owner, cursor, limit)
    return compared


def test_pages_match_the_query_builder_at_every_cursor(client):
    _fill(client)
    assert run_in_app(client, _compare_pages) > 0


SORTED_BY = {Sort.NEWEST: (Video.created_at, False), Sort.OLDEST: (Video.created_at, True),
             Sort.TITLE: (Video.title, True)}
DATES = [(None, None), (T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=5))]


async def _reference_listing(where: Any, listing: Listing, limit: int) -> list[VideoRecord]:
    """A sorted, dated listing as the query builder writes it."""
    column, ascending = SORTED_BY[listing.sort]
    if listing.created_after is not None:
        where = where & (Video.created_at >= listing.created_after)
    if listing.created_before is not None:
        where = where & (Video.created_at < listing.created_before)
    cursor = listing.cursor
    if cursor is not None and ascending:
        where = where & (column >= cursor.key) & ((column > cursor.key) | (Video.id > cursor.id))
    elif cursor is not None:
        where = where & (column <= cursor.key) & ((column < cursor.key) | (Video.id < cursor.id))
    rows = await (Video.select().where(where).order_by(column, Video.id, ascending=ascending)
                  .limit(limit))
    return [_reference_record(row) for row in rows]


async def _compare_sorted_pages() -> int:
    records = [_reference_record(row) for row in await Video.select()]
    compared = 0
    for sort in SORTED_BY:  # relevance, a search's order: tests/video/test_search.py
        for (after, before), record in itertools.product(DATES, [None, *records]):
            listing = Listing(sort=sort, created_after=after, created_before=before,
                              cursor=record and Cursor.after(record, sort))
            uploaders = attrs.evolve(listing, user_id="alice")
            for limit in (1, 3):
                expected = await _reference_listing(_public(), listing, limit)
                assert await queries.public_page(listing, limit) == expected, listing
                expected = await _reference_listing(_public() & (Video.owner_id == "alice"),
                                                    uploaders, limit)
                assert await queries.public_page(uploaders, limit) == expected, uploaders
                expected = await _reference_listing(Video.owner_id == "alice", listing, limit)
                assert await queries.owner_page("alice", listing, limit) == expected, listing
                compared += bool(expected)
    return compared


def test_sorted_and_dated_pages_match_the_query_builder(client):
    _fill(client)
    assert run_in_app(client, _compare_sorted_pages) > 0


async def _compare_lookups(ids: list[uuid.UUID]) -> None:
    for video_id in [*ids, uuid.uuid4()]:
        rows = await Video.select().where(Video.id == video_id)
        expected = _reference_record(rows[0]) if rows else None
        assert await queries.fetch(video_id) == expected
        if expected is not None:
            assert await queries.id_for_key(expected.video_s3_key) == video_id
    assert await queries.id_for_key("videos/nobody/none.mp4") is None


def test_lookups_by_id_and_key_match_the_query_builder(client):
    ids = _fill(client)
    run_in_app(client, lambda: _compare_lookups(ids))


@pytest.mark.parametrize("key", ["videos/alice/it's.mp4", "videos/alice/$1 ?1 %s.mp4"])
def test_a_key_is_a_bound_value_never_sql(client, key):
    video_id = insert_video(client, video_s3_key=key)
    assert run_in_app(client, lambda: queries.id_for_key(key)) == video_id
