"""Every database query the video plugin makes (both engines): writes through Piccolo's
query builder, the hot reads as hand-written statements (plugins/video/statements.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs
import orjson

from core.db import INTEGRITY_ERRORS, engine_kind, is_unique_violation, write_transaction
from plugins.video import outbox, ranking_statements, statements
from plugins.video.deletion import queries as deletion_queries
from plugins.video.listing import Listing
from plugins.video.models import VideoRecord
from plugins.video.pagination import Sort
from plugins.video.search import DEFAULT_SEARCH_CONFIG
from plugins.video.states import Status, Visibility
from plugins.video.tables import Video, VideoStatusHistory

# By stored value: a dict lookup costs a fraction of the Enum call, once per row read.
VISIBILITIES = {visibility.value: visibility for visibility in Visibility}
STATUSES = {status.value: status for status in Status}
_FIELDS = [field.name for field in attrs.fields(VideoRecord)]
_VISIBILITY_AT, _STATUS_AT = _FIELDS.index("visibility"), _FIELDS.index("processing_status")


class DuplicateKey(Exception):
    """Another video already registered this S3 key."""


class Rows(list[VideoRecord]):
    """A page's records and, in relevance order, each one's score (else none)."""

    def __init__(self, records: Iterable[VideoRecord], scores: Iterable[float] = ()) -> None:
        super().__init__(records)
        self.scores = list(scores)


def _record(row: Any) -> VideoRecord:
    """A row of `statements.COLUMNS` (an asyncpg Record, or a dict from SQLite), whose
    values come in the record's field order: read in turn, not by name (a page reads
    twenty-one, and the lookups by name were a fifth of it)."""
    return _record_of(list(row.values()))


def _record_of(values: list[Any]) -> VideoRecord:
    values[_VISIBILITY_AT] = VISIBILITIES[values[_VISIBILITY_AT]]
    values[_STATUS_AT] = STATUSES[values[_STATUS_AT]]
    return VideoRecord(*values)


def _row(record: VideoRecord) -> dict[str, Any]:
    """The record's row of `videos`: all but its views, which have a table of their own."""
    row = attrs.asdict(record, recurse=False)
    del row["view_count"]
    row["visibility"] = record.visibility.value
    row["processing_status"] = record.processing_status.value
    return row


async def fetch(video_id: uuid.UUID) -> VideoRecord | None:
    rows = await statements.BY_ID.fetch(video_id)
    return _record(rows[0]) if rows else None


async def id_for_key(key: str) -> uuid.UUID | None:
    rows = await statements.ID_BY_KEY.fetch(key)
    return rows[0]["id"] if rows else None


async def upload_by_key(key: str) -> tuple[uuid.UUID, str | None, str | None] | None:
    """The id of the video stored at `key`, with its upload's checksum algorithm and value."""
    rows = await statements.ID_BY_KEY.fetch(key)
    if not rows:
        return None
    row = rows[0]
    return row["id"], row["checksum_algorithm"], row["checksum"]


async def key_exists(key: str) -> bool:
    return await Video.exists().where(Video.video_s3_key == key)


def _history(
    video_id: uuid.UUID, old: Status | None, new: Status, at: dt.datetime, by: str,
    reason: str | None,
) -> VideoStatusHistory:
    return VideoStatusHistory(
        video=video_id,
        from_status=old.value if old else None,
        to_status=new.value,
        changed_at=at,
        changed_by=by,
        reason=reason,
    )


async def insert_video(record: VideoRecord, changed_by: str,
                       check: Callable[[], Awaitable[None]] | None = None) -> None:
    """The video and its first history row, in one transaction; `DeletedKey` (nothing
    written) when the key belonged to a deleted video. `check` runs first in the same
    transaction and raises to refuse the insert (the quotas)."""
    try:
        async with write_transaction(Video):
            if check is not None:
                await check()
            await Video.insert(Video(**_row(record)))
            await VideoStatusHistory.insert(
                _history(record.id, None, record.processing_status, record.created_at,
                         changed_by, None)
            )
            await deletion_queries.refuse_deleted_key(record.video_s3_key)
            await outbox.record_created(record)
    except INTEGRITY_ERRORS as exc:
        if is_unique_violation(exc):
            raise DuplicateKey(record.video_s3_key) from None
        raise


def _transcoding_values(changed: VideoRecord) -> dict[Any, Any]:
    return {
        Video.failure_code: changed.failure_code,
        Video.progress: changed.progress,
        Video.progress_stage: changed.progress_stage,
        Video.progress_eta_seconds: changed.progress_eta_seconds,
        Video.lease_token_hash: changed.lease_token_hash,
        Video.lease_expires_at: changed.lease_expires_at,
        Video.lease_attempts: changed.lease_attempts,
    }


async def compare_and_set_transcoding(current: VideoRecord, changed: VideoRecord,
                                      record_event: bool) -> bool:
    """Write `changed`'s progress and lease only if the row still has `current.version`
    (a claim, or a progress report: then with its `video.progress` event). False means
    another update won: reload and decide again."""
    async with write_transaction(Video):
        updated = await Video.update(
            {Video.updated_at: changed.updated_at, Video.version: changed.version,
             **_transcoding_values(changed)}
        ).where((Video.id == current.id) & (Video.version == current.version)).returning(Video.id)
        if not updated:
            return False
        if record_event:
            await outbox.record_progress(changed)
    return True


async def extend_lease(video_id: uuid.UUID, token_hash: str, now: dt.datetime,
                       expires_at: dt.datetime) -> bool:
    """Move a live lease's end to `expires_at`, if `token_hash` holds it still (a heartbeat
    changes nothing a reader sees, so the version stays)."""
    async with write_transaction(Video):
        updated = await Video.update({Video.lease_expires_at: expires_at}).where(
            (Video.id == video_id) & (Video.lease_token_hash == token_hash)
            & (Video.lease_expires_at > now)
            & (Video.processing_status == Status.IN_PROGRESS.value)
        ).returning(Video.id)
    return bool(updated)


async def expired_leases(now: dt.datetime, limit: int) -> list[uuid.UUID]:
    """Videos IN_PROGRESS whose lease ended before `now`, the longest-expired first."""
    rows = await Video.select(Video.id).where(
        (Video.lease_expires_at < now) & (Video.processing_status == Status.IN_PROGRESS.value)
    ).order_by(Video.lease_expires_at).limit(limit)
    return [row["id"] for row in rows]


async def public_page(listing: Listing, limit: int,
                      search_config: str = DEFAULT_SEARCH_CONFIG) -> Rows:
    """Completed public videos (of `listing.user_id` only, when given), in the listing's
    order, within its dates, matching its search, after its cursor."""
    return await _page(listing, limit, search_config, public=True, owner_id=listing.user_id)


async def owner_page(owner_id: str, listing: Listing, limit: int,
                     search_config: str = DEFAULT_SEARCH_CONFIG) -> Rows:
    """One owner's videos in every state, in the listing's order, within its dates,
    matching its search, after its cursor."""
    return await _page(listing, limit, search_config, public=False, owner_id=owner_id)


async def _page(listing: Listing, limit: int, search_config: str, *, public: bool,
                owner_id: str | None) -> Rows:
    cursor, search = listing.cursor, listing.search
    statement = statements.listing_statement(
        public=public, owner=owner_id is not None, sort=listing.sort,
        created_after=listing.created_after is not None,
        created_before=listing.created_before is not None, after_cursor=cursor is not None,
        search_config=search_config if search else None,
    )
    rows = await statement.fetch({
        "owner_id": owner_id, "created_after": listing.created_after,
        "created_before": listing.created_before, "limit": limit,
        "key": cursor and cursor.key, "id": cursor and cursor.id,
        "q": search and (search.text if _is_postgres() else search.fts5),
    })
    if listing.sort is not Sort.RELEVANCE:
        return Rows(_record(row) for row in rows)
    scored = [list(row.values()) for row in rows]
    return Rows((_record_of(values[:-1]) for values in scored),
                (values[-1] for values in scored))


def _is_postgres() -> bool:
    return engine_kind(Video._meta.db) == "postgres"


async def ranked_matches(listing: Listing, depth: int, search_config: str
                         ) -> list[tuple[float, uuid.UUID]]:
    """The scores and ids of the public videos matching `listing.search` (of its uploader,
    within its dates), best first, at most `depth` of them."""
    assert listing.search is not None
    statement = ranking_statements.ranking_statement(
        owner=listing.user_id is not None, created_after=listing.created_after is not None,
        created_before=listing.created_before is not None, search_config=search_config)
    rows = await statement.fetch({
        "owner_id": listing.user_id, "created_after": listing.created_after,
        "created_before": listing.created_before, "depth": depth,
        "q": _search_text(listing)})
    return [(float(row["score"]), _uuid(row["id"])) for row in rows]


async def visible_matches(ids: list[uuid.UUID], listing: Listing, search_config: str
                          ) -> dict[uuid.UUID, VideoRecord]:
    """Those of `ids` that are public and completed (and the uploader's, when the listing
    names one) and match its search now, by id."""
    statement = ranking_statements.visible_statement(
        owner=listing.user_id is not None, search_config=search_config)
    # SQLite reads the ids from a JSON array (json_each)
    among = ids if _is_postgres() else orjson.dumps([str(video_id) for video_id in ids]).decode()
    rows = await statement.fetch({"ids": among, "owner_id": listing.user_id,
                                  "q": _search_text(listing)})
    records = (_record(row) for row in rows)
    return {record.id: record for record in records}


def _search_text(listing: Listing) -> str:
    assert listing.search is not None
    return listing.search.text if _is_postgres() else listing.search.fts5


def _uuid(value: Any) -> uuid.UUID:
    # SQLite hands back a subquery's id as its text
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
