"""What the share routes take and return, and a share link's row as the service reads it."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import attrs

from core.schema import constrained
from plugins.video.config import MIN_SHARE_SECONDS
from plugins.video.models import VideoOut


class ShareState(enum.StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"


@attrs.frozen
class ShareRecord:
    """A row of `video_shares`."""

    id: uuid.UUID
    video_id: uuid.UUID
    token_hash: str
    created_at: dt.datetime
    expires_at: dt.datetime
    max_views: int | None
    views: int
    revoked_at: dt.datetime | None = None

    def state(self, now: dt.datetime) -> ShareState:
        """Revoked before used up before expired: the first reason it stopped working that
        its owner can act on."""
        if self.revoked_at is not None:
            return ShareState.REVOKED
        if self.max_views is not None and self.views >= self.max_views:
            return ShareState.USED_UP
        if self.expires_at <= now:
            return ShareState.EXPIRED
        return ShareState.ACTIVE

    def views_left(self) -> int | None:
        return None if self.max_views is None else max(0, self.max_views - self.views)


@attrs.define
class CreateShareRequest:
    """How long the link works, and how many times it may be opened."""

    expires_in: int = constrained(minimum=MIN_SHARE_SECONDS,
                                  description="Seconds from now until the link stops working")
    max_views: int | None = constrained(None, minimum=1, description=(
        "Successful opens allowed; absent or null for no limit before it expires"))


def create_request_class(max_expires_seconds: int, max_views: int) -> type[CreateShareRequest]:
    """The create body publishing the configured longest life and most views."""
    fields = {
        "expires_in": constrained(minimum=MIN_SHARE_SECONDS, maximum=max_expires_seconds,
                                  description="Seconds from now until the link stops working",
                                  example=86_400),
        "max_views": constrained(None, minimum=1, maximum=max_views, description=(
            "Successful opens allowed; absent or null for no limit before it expires")),
    }
    return attrs.make_class("CreateShareRequest", fields, bases=(CreateShareRequest,),
                            slots=True, kw_only=True)


@attrs.define
class ShareOut:
    """A share link as its owner lists it: the token is never shown again."""

    id: uuid.UUID
    state: ShareState = attrs.field(metadata={
        "description": "active, expired, revoked or used_up (no views left)"})
    expires_at: dt.datetime
    max_views: int | None = attrs.field(metadata={"description": "null: no limit"})
    views: int = attrs.field(metadata={"description": "Successful opens so far"})
    created_at: dt.datetime
    revoked_at: dt.datetime | None


@attrs.define
class ShareCreated:
    """A new share link. `token` is shown this once: only its hash is kept."""

    id: uuid.UUID
    token: str = attrs.field(metadata={"description": "The secret; shown only now"})
    url: str = attrs.field(metadata={
        "description": "Where the video is opened: GET it, no sign-in needed"})
    expires_at: dt.datetime
    max_views: int | None
    views: int
    created_at: dt.datetime


@attrs.define
class ShareAccess:
    """What is left of the link that opened the video."""

    expires_at: dt.datetime
    views_left: int | None = attrs.field(metadata={
        "description": "Opens left after this one; null: no limit"})


@attrs.define
class SharedVideoOut(VideoOut):
    """A video opened through a share link, as an anonymous viewer sees an unlisted one."""

    share: ShareAccess = attrs.field(kw_only=True)


def to_out(record: ShareRecord, now: dt.datetime) -> ShareOut:
    return ShareOut(id=record.id, state=record.state(now), expires_at=record.expires_at,
                    max_views=record.max_views, views=record.views,
                    created_at=record.created_at, revoked_at=record.revoked_at)
