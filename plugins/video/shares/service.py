"""Share links: made, listed and revoked by the video's owner, opened by anyone holding one.

No web framework here: the routes parse and render, this module decides. An open is a
conditional UPDATE counting the view only while the link is live, so no cache stands
between a revocation (or an expiry, or the last view) and the next open on any worker.
Every refusal of an open is the same 404: nothing tells an unknown token from a spent one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable

import attrs
import orjson

from core.auth import Actor
from core.errors import Conflict, NotFound, ValidationFailed
from core.http import render
from core.ratelimit import Limit, RateLimiter
from plugins.video import queries as video_queries
from plugins.video.models import OutputKind, VideoRecord
from plugins.video.pagination import Cursor, Page, Sort
from plugins.video.playback.manifest import MASTER_PATH
from plugins.video.service import VideoService, view_fields
from plugins.video.shares import queries, tokens
from plugins.video.shares.models import (
    CreateShareRequest,
    ShareCreated,
    ShareRecord,
    to_out,
)
from plugins.video.states import Visibility
from plugins.video.storage import MediaUrls

SHARED_PATH = "/api/v1/shared"
# The one answer to every token that does not open a video.
NO_SUCH_LINK = "No such share link, or it has expired, been revoked or used up"
RATE_SCOPE = "shared_open"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ShareService:
    """One per app, over the app's `VideoService`."""

    def __init__(self, videos: VideoService) -> None:
        self.videos = videos
        self.settings = videos.settings
        self.open_limit = Limit.parse(self.settings.share_rate_limit)
        self._limiter: RateLimiter | None = None

    # -- the owner ------------------------------------------------------------------------

    async def create(self, actor: Actor, video_id: uuid.UUID,
                     request: CreateShareRequest) -> ShareCreated:
        """A new link to the actor's private or unlisted video; 409 for a public one or
        once the video has `share_max_live_per_video` live links."""
        video = await self._owned(video_id, actor)
        if video.visibility is Visibility.PUBLIC:
            raise Conflict("This video is PUBLIC: anyone may open it already. Share links "
                           "are for PRIVATE and UNLISTED videos", visibility="PUBLIC")
        if request.expires_in > self.settings.share_max_expires_seconds:
            raise ValidationFailed.field(
                "expires_in", f"must be at most {self.settings.share_max_expires_seconds}")
        if request.max_views is not None and request.max_views > self.settings.share_max_views:
            raise ValidationFailed.field(
                "max_views", f"must be at most {self.settings.share_max_views}")
        token, now = tokens.new_token(), _now().replace(microsecond=0)
        record = ShareRecord(
            id=uuid.uuid4(), video_id=video.id, token_hash=tokens.token_hash(token),
            created_at=now, expires_at=now + dt.timedelta(seconds=request.expires_in),
            max_views=request.max_views, views=0,
        )
        cap = self.settings.share_max_live_per_video
        try:
            if not await queries.insert_within_cap(record, cap, now):
                raise Conflict(f"This video has {cap} live share links, the most allowed; "
                               "revoke one first", limit="share_max_live_per_video")
        except queries.VideoGone:
            raise NotFound(f"No video {video_id}") from None
        return ShareCreated(id=record.id, token=token, url=self.link(token),
                            expires_at=record.expires_at, max_views=record.max_views,
                            views=0, created_at=record.created_at)

    def link(self, token: str) -> str:
        """Where the token opens its video: absolute under `share_base_url` when set."""
        return f"{self.settings.share_base_url.rstrip('/')}{SHARED_PATH}/{token}"

    async def page(self, actor: Actor, video_id: uuid.UUID, limit: int,
                   cursor_text: str | None) -> Page:
        """The video's links, newest first, a page at a time, each with its state."""
        after = _decode_cursor(cursor_text) if cursor_text else None
        await self._owned(video_id, actor)
        rows = await queries.page(video_id, after, limit + 1)
        shown, now = rows[:limit], _now()
        next_cursor = None
        if len(rows) > limit:
            last = shown[-1]
            next_cursor = Cursor(id=last.id, sort=Sort.NEWEST,
                                 created_at=last.created_at).encode()
        return Page(body=render([to_out(row, now) for row in shown]), next_cursor=next_cursor)

    async def revoke(self, actor: Actor, video_id: uuid.UUID, share_id: uuid.UUID) -> None:
        """Revoke one of the video's links at once; again is a success, unknown a 404."""
        await self._owned(video_id, actor)
        if not await queries.revoke(video_id, share_id, _now()):
            raise NotFound(f"No share link {share_id} of this video")

    # -- anyone holding a token -----------------------------------------------------------

    async def open(self, token: str, client_address: str) -> bytes:
        """The video the token opens, as JSON, counting the view; the same 404 for every
        token that opens nothing. Counted per client address against `share_rate_limit`."""
        share, video = await self._opened_by(token, client_address, queries.spend_view)
        return await self._render(video, share, token)

    async def playable(self, token: str, client_address: str) -> VideoRecord:
        """The video whose HLS playlists the token fetches: its link is not revoked, not
        expired, and was opened at least once (a used-up link still plays what its last
        open showed). Counts no view; the same rate and the same 404 as an open."""
        _, video = await self._opened_by(token, client_address, queries.playable)
        return video

    async def _opened_by(
        self, token: str, client_address: str,
        find: Callable[[str, dt.datetime], Awaitable[ShareRecord | None]],
    ) -> tuple[ShareRecord, VideoRecord]:
        """The link `find` accepts for the token, and its video; else the one 404. The rate
        is counted first, and a malformed token never reaches the database."""
        await self.limiter().hit(RATE_SCOPE, client_address, self.open_limit)
        if not tokens.is_well_formed(token):
            raise NotFound(NO_SUCH_LINK)
        hashed = tokens.token_hash(token)
        share = await find(hashed, _now())
        if share is None or not tokens.same_hash(share.token_hash, hashed):
            raise NotFound(NO_SUCH_LINK)
        video = await video_queries.fetch(share.video_id)
        if video is None:  # deleted since: its links go with it
            raise NotFound(NO_SUCH_LINK)
        return share, video

    def manifest_url(self, token: str) -> str:
        """Where the token's holder fetches the video's HLS master playlist."""
        return f"{self.link(token)}/{MASTER_PATH}"

    async def _render(self, video: VideoRecord, share: ShareRecord, token: str) -> bytes:
        """The video as an anonymous viewer of an unlisted one sees it, and the link's rest."""
        (urls,) = await self.videos.storage.media_urls([video])
        fields = view_fields(video, played_through(urls, self.manifest_url(token)))
        fields["share"] = {"expires_at": share.expires_at, "views_left": share.views_left()}
        return orjson.dumps(fields)

    def limiter(self) -> RateLimiter:
        # One limiter per running app: its per-process fallback must outlive a request.
        cache = self.videos.ctx.cache
        if self._limiter is None or self._limiter.cache is not cache:
            self._limiter = RateLimiter(cache, prefix="video:shares")
        return self._limiter

    async def _owned(self, video_id: uuid.UUID, actor: Actor) -> VideoRecord:
        """The actor's video; someone else's is a 404, as a missing one."""
        video = await video_queries.fetch(video_id)
        if video is None or video.owner_id != actor.id:
            raise NotFound(f"No video {video_id}")
        return video


def played_through(urls: MediaUrls, manifest_url: str) -> MediaUrls:
    """`urls` with the `hls` rendition, and the playback URL it is, at the link's manifest
    route: the video's own route refuses the holder of a private video."""
    if not any(rendition.kind is OutputKind.HLS for rendition in urls.renditions):
        return urls
    renditions = tuple(attrs.evolve(rendition, url=manifest_url)
                       if rendition.kind is OutputKind.HLS else rendition
                       for rendition in urls.renditions)
    return attrs.evolve(urls, playback_url=manifest_url, renditions=renditions)


def _decode_cursor(text: str) -> Cursor:
    cursor = Cursor.decode(text)
    if cursor.sort is not Sort.NEWEST:
        raise ValidationFailed.field("cursor", "is not a cursor of this listing; start again "
                                               "without one")
    return cursor
