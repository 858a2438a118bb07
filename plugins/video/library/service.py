"""The owner's library: edit a video, read its status history, retry a failed one.

No web framework here. Every write is a compare-and-set on the video's `version` (the
one `VideoService.move_status` uses), so an edit and a concurrent status change never
lose each other; after the commit the video's cache entries are invalidated and the
event fires, through `VideoService`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from core.auth import Actor
from core.errors import Conflict, NotFound, PreconditionFailed, ValidationFailed
from core.events import wake
from plugins.video import queries as video_queries
from plugins.video.keys import MediaKind, check_owned_key
from plugins.video.library import queries
from plugins.video.library.etags import TaggedVideo, entity_tag, if_match_allows
from plugins.video.library.models import HISTORY_FIELDS
from plugins.video.models import StatusUpdate, VideoRecord
from plugins.video.pagination import CURSOR_MAX_LENGTH, CURSOR_PATTERN, Page
from plugins.video.service import VideoService
from plugins.video.states import Status

# Compare-and-set attempts before an edit without a precondition gives up with a 409.
EDIT_ATTEMPTS = 5
RETRY_REASON = "retry"
_CURSOR_TEXT = re.compile(CURSOR_PATTERN)
# More digits than any row id has: refused before the database sees them.
_MAX_ROW_ID_DIGITS = 18


class LibraryService:
    """The owner's operations on one video, over the app's `VideoService`."""

    def __init__(self, videos: VideoService) -> None:
        self.videos = videos

    async def edit(
        self, video_id: uuid.UUID, actor: Actor, wanted: Mapping[str, Any], if_match: str | None
    ) -> TaggedVideo:
        """Set the `wanted` fields of the actor's video. `If-Match` must name its current
        ETag (or be `*`); without one the edit applies to whatever version it finds. An
        edit that changes nothing is a 200 with no new version and no event."""
        unchecked_thumbnail = wanted.get("thumbnail_s3_key")
        if unchecked_thumbnail is not None:
            check_owned_key(unchecked_thumbnail, MediaKind.THUMBNAIL, actor.id,
                            field="thumbnail_s3_key")
        for _ in range(EDIT_ATTEMPTS):
            current = await _owned(video_id, actor)
            changes = _changes(current, wanted, if_match)
            if not changes:
                return await self.videos.tagged_view(current)
            if unchecked_thumbnail is not None and "thumbnail_s3_key" in changes:
                await self.videos.check_thumbnail(unchecked_thumbnail)  # once, whatever the tries
                unchecked_thumbnail = None
            changed = attrs.evolve(current, **changes, updated_at=dt.datetime.now(dt.UTC),
                                   version=current.version + 1)
            if await queries.compare_and_set_edit(current, changed, changes):
                break
        else:
            raise Conflict("The video kept changing while this edit was applied; retry")
        wake(self.videos.ctx)
        await self.videos.invalidate(video_id)
        await self.videos.notify("on_video_updated", video=changed, old=current,
                                  changes=tuple(changes))
        return await self.videos.tagged_view(changed)

    async def retry(self, video_id: uuid.UUID, actor: Actor) -> TaggedVideo:
        """Send the actor's FAILED video back to IN_PROGRESS (409 from any other status)."""

        def owned_and_failed(current: VideoRecord) -> None:
            _check_owner(current, actor)
            if current.processing_status is not Status.FAILED:
                status = current.processing_status.value
                raise Conflict(f"Only a FAILED video can be retried; this one is {status}",
                               current_status=status)

        return await self.videos.move_status(
            video_id, StatusUpdate(status=Status.IN_PROGRESS), actor,
            precondition=owned_and_failed, reason=RETRY_REASON,
        )

    async def history(
        self, video_id: uuid.UUID, actor: Actor, limit: int, cursor_text: str | None
    ) -> Page:
        """The actor's video's status transitions, oldest first, a page at a time."""
        after = _decode_cursor(cursor_text) if cursor_text else 0
        await _owned(video_id, actor)
        rows = await queries.history_page(video_id, after, limit + 1)
        shown = rows[:limit]
        next_cursor = _encode_cursor(shown[-1]["id"]) if len(rows) > limit else None
        body = orjson.dumps([{name: row[name] for name in HISTORY_FIELDS} for row in shown])
        return Page(body=body, next_cursor=next_cursor)


async def _owned(video_id: uuid.UUID, actor: Actor) -> VideoRecord:
    record = await video_queries.fetch(video_id)
    if record is None:
        raise NotFound(f"No video {video_id}")
    _check_owner(record, actor)
    return record


def _check_owner(record: VideoRecord, actor: Actor) -> None:
    """Someone else's video is a 404, as a missing one: its existence stays private."""
    if record.owner_id != actor.id:
        raise NotFound(f"No video {record.id}")


def _changes(
    current: VideoRecord, wanted: Mapping[str, Any], if_match: str | None
) -> dict[str, Any]:
    """The wanted values that differ from `current`'s; 412 when `If-Match` does not allow
    changing `current`."""
    if not if_match_allows(if_match, current.version):
        raise _stale(current)
    return {name: value for name, value in wanted.items() if getattr(current, name) != value}


def _stale(current: VideoRecord) -> PreconditionFailed:
    etag = entity_tag(current.version)
    problem = PreconditionFailed(
        f"The video has changed: If-Match does not name its current ETag, {etag}",
        current_etag=etag,
    )
    problem.headers["ETag"] = etag
    return problem


def _encode_cursor(row_id: int) -> str:
    return base64.urlsafe_b64encode(str(row_id).encode()).rstrip(b"=").decode()


def _decode_cursor(text: str) -> int:
    """A history cursor this API issued (the last row's id); anything else is a 422."""
    try:
        if len(text) > CURSOR_MAX_LENGTH or not _CURSOR_TEXT.fullmatch(text):
            raise ValueError("not base64url")
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        if not raw.isdigit() or len(raw) > _MAX_ROW_ID_DIGITS:
            raise ValueError("not a row id")
        return int(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationFailed.field(
            "cursor", "is not a cursor this API issued; start again without one"
        ) from None
