"""Share links in the database (both engines), through Piccolo's query builder."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from piccolo.columns.combination import And
from piccolo.custom_types import Combinable
from piccolo.query import Select, Update

from core.db import write_transaction
from plugins.video.pagination import Cursor
from plugins.video.shares.models import ShareRecord
from plugins.video.shares.tables import VideoShare as Share
from plugins.video.statements import Statement

COLUMNS = (Share.id, Share.video, Share.token_hash, Share.created_at, Share.expires_at,
           Share.max_views, Share.views, Share.revoked_at)
# Within the create's transaction: creations of one video's links take turns (SQLite's
# write lock, taken at BEGIN, already queues them), so two at the cap never both pass.
LOCK_VIDEO = Statement("SELECT id FROM videos WHERE id = $1 FOR UPDATE",
                       sqlite="SELECT id FROM videos WHERE id = $1")


class VideoGone(Exception):
    """The video was deleted while a link was being made for it."""


def _record(row: dict[str, Any]) -> ShareRecord:
    return ShareRecord(
        id=row["id"], video_id=row["video"], token_hash=row["token_hash"],
        created_at=row["created_at"], expires_at=row["expires_at"],
        max_views=row["max_views"], views=int(row["views"]), revoked_at=row["revoked_at"],
    )


def _live(now: dt.datetime) -> And:
    """Not revoked, not expired, views left."""
    return (Share.revoked_at.is_null() & (Share.expires_at > now)
            & (Share.max_views.is_null() | (Share.views < Share.max_views)))


async def insert_within_cap(record: ShareRecord, cap: int, now: dt.datetime) -> bool:
    """Insert the link unless its video already has `cap` live ones (False then); raise
    `VideoGone` when the video no longer exists."""
    async with write_transaction(Share):
        if not await LOCK_VIDEO.fetch(record.video_id):
            raise VideoGone(str(record.video_id))
        live = await Share.count().where((Share.video == record.video_id) & _live(now))
        if live >= cap:
            return False
        await Share.insert(Share(
            id=record.id, video=record.video_id, token_hash=record.token_hash,
            created_at=record.created_at, expires_at=record.expires_at,
            max_views=record.max_views, views=record.views, revoked_at=None,
        ))
    return True


def page_query(video_id: uuid.UUID, after: Cursor | None, limit: int) -> Select:
    """The video's links, newest first (ties by id), after `after`; served by the index on
    `(video, created_at, id)`."""
    where: Combinable = Share.video == video_id
    if after is not None:
        # The first term bounds an index range scan, the second breaks ties by id.
        where = where & (Share.created_at <= after.created_at) & (
            (Share.created_at < after.created_at) | (Share.id < after.id))
    return (Share.select(*COLUMNS).where(where)
            .order_by(Share.created_at, Share.id, ascending=False).limit(limit))


async def page(video_id: uuid.UUID, after: Cursor | None, limit: int) -> list[ShareRecord]:
    return [_record(row) for row in await page_query(video_id, after, limit)]


async def revoke(video_id: uuid.UUID, share_id: uuid.UUID, now: dt.datetime) -> bool:
    """Revoke the video's link; False when it has no such link. Revoking a revoked link
    keeps its first revocation time."""
    changed = await Share.update({Share.revoked_at: now}).where(
        (Share.id == share_id) & (Share.video == video_id) & Share.revoked_at.is_null()
    ).returning(Share.id)
    if changed:
        return True
    return bool(await Share.exists().where((Share.id == share_id) & (Share.video == video_id)))


def spend_view_query(hashed: str, now: dt.datetime) -> Update:
    """Count one view of the live link whose token hashes to `hashed` (its unique index
    finds it), returning the link as it is afterwards."""
    return Share.update({Share.views: Share.views + 1}).where(
        (Share.token_hash == hashed) & _live(now)
    ).returning(*COLUMNS)


async def spend_view(hashed: str, now: dt.datetime) -> ShareRecord | None:
    """Count one view in one conditional UPDATE: of two concurrent last views only one
    passes. None when no live link has this hash."""
    rows = await spend_view_query(hashed, now)
    return _record(rows[0]) if rows else None


def playable_query(hashed: str, now: dt.datetime) -> Select:
    """The link whose token hashes to `hashed` while its playlists may be served: not
    revoked, not expired, and opened at least once (a used-up link still plays the video
    its last open showed). Counts nothing."""
    return Share.select(*COLUMNS).where(
        (Share.token_hash == hashed) & Share.revoked_at.is_null() & (Share.expires_at > now)
        & (Share.views >= 1)
    )


async def playable(hashed: str, now: dt.datetime) -> ShareRecord | None:
    rows = await playable_query(hashed, now)
    return _record(rows[0]) if rows else None
