"""The video domain: uploads, metadata, discovery and processing status.

No web framework here: the routes parse and render, this module decides. Reads that
every visitor makes (a video by id, the first page of the public list) are served from
the app's cache as rendered JSON and invalidated by every change: the video's entry gets a
tombstone (`core.cache.cache_invalidate`), and the first pages live under a list
generation that a change drops, so every page cached before it becomes unreachable.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import orjson

from core.auth import Actor, ServicePrincipal
from core.cache import CacheUnavailable, cache_delete, cache_invalidate, get_or_load
from core.context import AppContext
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import wake
from core.metrics import record_status_transition
from core.plugins import resolve_all
from core.repeats import RecentlyAsked
from plugins.video import queries, status_write
from plugins.video.config import VideoSettings
from plugins.video.deletion import queries as deletion_queries
from plugins.video.keys import (
    MAX_KEY_LENGTH,
    MediaKind,
    check_owned_key,
    is_storable_key,
    new_key,
)
from plugins.video.library.etags import TaggedVideo, entity_tag
from plugins.video.listing import DEFAULT_LISTING, Listing
from plugins.video.models import (
    ChecksumOut,
    CreateVideoRequest,
    StatusUpdate,
    Uploader,
    UploadUrl,
    UploadUrlRequest,
    VideoIdOut,
    VideoOut,
    VideoRecord,
)
from plugins.video.pagination import Cursor, Page, Sort
from plugins.video.playback.outputs import outputs_json
from plugins.video.playback.playable import PlayableVideo, playback_facts
from plugins.video.presign import Checksum
from plugins.video.quotas.service import QuotaService
from plugins.video.ranked_results import RankedResults
from plugins.video.states import (
    FailureCode,
    Status,
    allowed_from,
    can_move,
    is_discoverable,
)
from plugins.video.storage import WRITE_ONCE, MediaUrls, VideoStorage
from plugins.video.views.service import ViewCounter

log = logging.getLogger("itube.video")
CACHE_PREFIX = "video:v1:"
# Compare-and-set attempts before a status update gives up with a 409.
STATUS_ATTEMPTS = 5
# A deleted video's key stays refused: its objects are (being) removed, and keys are never
# issued twice.
DELETED_KEY = "This video_s3_key belonged to a deleted video; upload the file again"
# The current generation of the cached first pages: a random token, dropped by each change.
LIST_GENERATION_KEY = f"{CACHE_PREFIX}public:generation"
# Far longer than any page's TTL: a generation outlives every page cached under it.
LIST_GENERATION_TTL_SECONDS = 86_400.0
# Videos whose opened cache entry a process keeps (`_OpenedEntries`): a few MB at most.
OPENED_ENTRIES_KEPT = 2048


def video_cache_key(video_id: uuid.UUID | str) -> str:
    """The key of a video's cached answer, from its id or the id's canonical text."""
    return f"{CACHE_PREFIX}id:{video_id}"


def first_page_cache_key(limit: int, generation: str = "0") -> str:
    return f"{CACHE_PREFIX}public:{generation}:first:{limit}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _principal_name(principal: Actor | ServicePrincipal) -> str:
    kind = "user" if isinstance(principal, Actor) else "service"
    return f"{kind}:{principal.id}"


def to_view(record: VideoRecord, urls: MediaUrls) -> VideoOut:
    return VideoOut(
        id=record.id,
        title=record.title,
        description=record.description,
        visibility=record.visibility,
        processing_status=record.processing_status,
        user_id=record.owner_id,
        uploader=Uploader(id=record.owner_id, name=record.uploader_name),
        video_s3_key=record.video_s3_key,
        thumbnail_s3_key=record.thumbnail_s3_key,
        created_at=record.created_at,
        updated_at=record.updated_at,
        duration_seconds=record.duration_seconds,
        failure_reason=record.failure_reason,
        playback_url=urls.playback_url,
        thumbnail_url=urls.thumbnail_url,
        failure_code=FailureCode(record.failure_code) if record.failure_code else None,
        progress=record.progress,
        stage=record.progress_stage,
        eta_seconds=record.progress_eta_seconds,
        view_count=record.view_count,
        renditions=list(urls.renditions),
    )


def view_fields(record: VideoRecord, urls: MediaUrls) -> dict[str, Any]:
    """What `render(to_view(record, urls))` writes, built straight from the record: the
    generic converter walks every field's type per video, and a page renders twenty
    (tests/video/test_rendering.py holds the two byte for byte equal)."""
    return {
        "id": str(record.id),
        "title": record.title,
        "description": record.description,
        # An enum's `value` is a Python-level property, which orjson calls too: its
        # `_value_` is a plain attribute, read ~5× faster (40 reads a page).
        "visibility": record.visibility._value_,
        "processing_status": record.processing_status._value_,
        "user_id": record.owner_id,
        "uploader": {"id": record.owner_id, "name": record.uploader_name},
        "video_s3_key": record.video_s3_key,
        "thumbnail_s3_key": record.thumbnail_s3_key,
        # orjson writes a datetime as isoformat() does, without the Python call
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "duration_seconds": record.duration_seconds,
        "failure_reason": record.failure_reason,
        "playback_url": urls.playback_url,
        "thumbnail_url": urls.thumbnail_url,
        "failure_code": record.failure_code,
        "progress": record.progress,
        "stage": record.progress_stage,
        "eta_seconds": record.progress_eta_seconds,
        "view_count": record.view_count,
        "renditions": urls.rendition_fields,
    }


def _envelope(meta: dict[str, Any], body: bytes) -> bytes:
    """A cache entry: one JSON line of facts about the body, then the body itself (orjson
    never writes a raw newline, so the first one ends the header)."""
    return orjson.dumps(meta) + b"\n" + body


def _open_envelope(entry: bytes) -> tuple[dict[str, Any], bytes]:
    header, _, body = entry.partition(b"\n")
    return orjson.loads(header), body


@attrs.frozen
class _VideoEntry:
    """A video's cached answer opened: the facts of get-by-id's rule, the body, and the
    playback facts' JSON (None in an entry written before it had them), parsed only by
    the playlist routes."""

    meta: dict[str, Any]
    body: bytes
    playback: bytes | None

    @classmethod
    def opened(cls, entry: bytes) -> _VideoEntry:
        meta, rest = _open_envelope(entry)
        body, newline, playback = rest.rpartition(b"\n")
        if not newline:  # the old layout: the body alone
            return cls(meta, rest, None)
        return cls(meta, body, playback)


class _OpenedEntries:
    """The entry last opened for each video asked for more than once, kept while the cache
    hands back the very same bytes (the in-process cache does), so a warm get parses no
    header. A video asked for once (each of a crawl's) is not kept. At most `limit`
    videos; when full, all are forgotten at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._by_video: dict[str, tuple[bytes, _VideoEntry]] = {}
        self._asked = RecentlyAsked()

    def opened(self, video_id: str, entry: bytes) -> _VideoEntry:
        kept = self._by_video.get(video_id)
        if kept is not None and kept[0] is entry:
            return kept[1]
        opened = _VideoEntry.opened(entry)
        if kept is None and not self._asked.again(video_id):
            return opened
        if len(self._by_video) >= self.limit:
            self._by_video.clear()
        self._by_video[video_id] = (entry, opened)
        return opened


def _video_envelope(meta: dict[str, Any], body: bytes, playback: dict[str, Any]) -> bytes:
    """The header line, the body, then a line of playback facts: last, so get-by-id finds
    its body without parsing them (and reads an older entry, body last, alike)."""
    return _envelope(meta, body) + b"\n" + orjson.dumps(playback)


def _may_see(meta: dict[str, Any], actor: Actor | None) -> bool:
    """The rule of get-by-id, on a cached answer's header: a discoverable video (completed,
    public or unlisted), or the caller's own."""
    return bool(meta["discoverable"]) or (actor is not None and actor.id == meta["owner_id"])


def _cursor_after(records: queries.Rows, index: int, listing: Listing) -> Cursor:
    """The cursor after `records[index]`: in relevance order, its score and the search's."""
    if listing.sort is Sort.RELEVANCE:
        assert listing.search is not None
        return Cursor.after(records[index], listing.sort, records.scores[index],
                            listing.search.digest)
    return Cursor.after(records[index], listing.sort)


class VideoService:
    """One per app, built at start-up and kept in `ctx.state["video"]`."""

    def __init__(self, ctx: AppContext, storage: VideoStorage, settings: VideoSettings) -> None:
        self.ctx = ctx
        self.storage = storage
        self.settings = settings
        self.quotas = QuotaService(ctx, settings)
        self.ranked = RankedResults(ctx.cache, ctx.flight, settings)
        self.views = (ViewCounter(ctx.cache, settings.view_window_seconds)
                      if settings.count_views else None)
        # A shared cache's every answer is new bytes: nothing to keep.
        self._opened = None if ctx.cache.shared else _OpenedEntries(OPENED_ENTRIES_KEPT)

    # -- uploads ------------------------------------------------------------------------------

    async def upload_url(
        self, actor: Actor, request: UploadUrlRequest, kind: MediaKind
    ) -> UploadUrl:
        """A presigned PUT for a new key under the actor's own prefix, usable once: the
        client must send every header returned (`If-None-Match: *` among them)."""
        allowed = self.settings.upload_types(kind)
        if kind is MediaKind.VIDEO:
            limit, bucket = self.settings.max_video_bytes, self.storage.buckets.raw
        else:
            limit, bucket = self.settings.max_thumbnail_bytes, self.storage.buckets.thumbnails
        content_type = request.content_type or allowed[0]
        if content_type not in allowed:
            raise ValidationFailed.field("content_type", f"must be one of {', '.join(allowed)}")
        if request.size_bytes is not None and request.size_bytes > limit:
            raise ValidationFailed.field("size_bytes", f"must be at most {limit} bytes")
        declared = request.checksum()
        checksum = Checksum(*declared) if declared else None
        await self.quotas.check_upload_url(actor.id, kind, request.size_bytes)
        key = new_key(kind, actor.id)
        expires_at = _now() + dt.timedelta(seconds=self.settings.upload_url_ttl_seconds)
        url = await self.storage.presign_upload(bucket, key, content_type, request.size_bytes,
                                                checksum)
        headers = {"Content-Type": content_type, "If-None-Match": WRITE_ONCE}
        if request.size_bytes is not None:
            headers["Content-Length"] = str(request.size_bytes)
        if checksum is not None:
            headers.update(checksum.headers())
        return UploadUrl(url=url, media_id=key, method="PUT", headers=headers,
                         expires_at=expires_at.replace(microsecond=0))

    # -- metadata -----------------------------------------------------------------------------

    async def create_video(self, actor: Actor, request: CreateVideoRequest) -> TaggedVideo:
        """Register an uploaded video: owned key, uploaded object, fresh key, then insert."""
        key = request.video_s3_key
        check_owned_key(key, MediaKind.VIDEO, actor.id, field="video_s3_key")
        if request.thumbnail_s3_key is not None:
            check_owned_key(request.thumbnail_s3_key, MediaKind.THUMBNAIL, actor.id,
                            field="thumbnail_s3_key")
        if await queries.key_exists(key):
            raise Conflict("This video_s3_key is already registered")
        if await deletion_queries.key_deleted(key):
            raise Conflict(DELETED_KEY)
        stored = await self.storage.head(self.storage.buckets.raw, key)
        if stored is None:
            raise Conflict("Nothing was uploaded at video_s3_key; upload the file first")
        if stored.size_bytes > self.settings.max_video_bytes:
            raise ValidationFailed.field(
                "video_s3_key",
                f"the uploaded object is {stored.size_bytes} bytes, over the limit of "
                f"{self.settings.max_video_bytes}",
            )
        if stored.content_type.lower() not in self.settings.upload_types(MediaKind.VIDEO):
            raise ValidationFailed.field(
                "video_s3_key", f"the uploaded object's type {stored.content_type!r} is not allowed"
            )
        if request.thumbnail_s3_key is not None:
            await self.check_thumbnail(request.thumbnail_s3_key)
        now = _now()
        record = VideoRecord(
            id=uuid.uuid4(), owner_id=actor.id, title=request.title,
            description=request.description, visibility=request.visibility,
            processing_status=Status.IN_PROGRESS, video_s3_key=key,
            thumbnail_s3_key=request.thumbnail_s3_key, size_bytes=stored.size_bytes,
            content_type=stored.content_type, failure_reason=None, duration_seconds=None,
            created_at=now, updated_at=now, version=1, uploader_name=actor.name,
            checksum_algorithm=stored.checksum.algorithm if stored.checksum else None,
            checksum=stored.checksum.value if stored.checksum else None,
        )
        try:
            await queries.insert_video(record, _principal_name(actor),
                                       check=lambda: self.quotas.check_registration(record))
        except queries.DuplicateKey:
            raise Conflict("This video_s3_key is already registered") from None
        except deletion_queries.DeletedKey:
            raise Conflict(DELETED_KEY) from None
        wake(self.ctx)
        await self.notify("on_video_created", video=record)
        return TaggedVideo(to_view(record, MediaUrls(None, None)), entity_tag(record.version))

    async def check_thumbnail(self, key: str) -> None:
        """422 naming `thumbnail_s3_key` unless an allowed image is uploaded at `key`."""
        stored = await self.storage.head(self.storage.buckets.thumbnails, key)
        if stored is None:
            raise ValidationFailed.field("thumbnail_s3_key", "nothing was uploaded at this key")
        if stored.size_bytes > self.settings.max_thumbnail_bytes:
            raise ValidationFailed.field(
                "thumbnail_s3_key",
                f"the thumbnail is over the limit of {self.settings.max_thumbnail_bytes} bytes",
            )
        if stored.content_type.lower() not in self.settings.upload_types(MediaKind.THUMBNAIL):
            raise ValidationFailed.field(
                "thumbnail_s3_key", f"the thumbnail's type {stored.content_type!r} is not allowed"
            )

    # -- discovery ----------------------------------------------------------------------------

    async def video_json(self, video_id: str, actor: Actor | None,
                         client: Callable[[], str] | None = None) -> tuple[bytes, str | None]:
        """The video as JSON, and its ETag, if the caller may see it; 404 otherwise (existence
        stays private). `video_id` is the id's canonical text: a cached answer needs no more.
        An entry cached before entity tags existed has none. Given `client` (what tells the
        caller's address, asked only when needed), the view is counted."""
        opened = await self._cached_entry(video_id)
        if opened is not None:
            meta = opened.meta
            if _may_see(meta, actor):
                if client is not None and self.views is not None:
                    self.views.saw(video_id, meta["owner_id"], actor, client)
                return opened.body, meta.get("etag")
        raise NotFound(f"No video {video_id}")

    async def playable_video(self, video_id: uuid.UUID, actor: Actor | None) -> PlayableVideo:
        """What serving the video's playlists needs, if the caller may see it (the rule of
        `video_json`, from the same cached entry: a warm request reads no row); 404
        otherwise. An entry written before its header held these facts is read afresh."""
        opened = await self._cached_entry(str(video_id))
        if opened is not None and opened.playback is None:
            # Not stored: replacing an entry could undo an invalidation made meanwhile.
            entry = await self._video_entry(video_id)
            opened = _VideoEntry.opened(entry) if entry is not None else None
        if opened is None or opened.playback is None or not _may_see(opened.meta, actor):
            raise NotFound(f"No video {video_id}")
        return PlayableVideo.from_facts(video_id, orjson.loads(opened.playback))

    async def _cached_entry(self, video_id: str) -> _VideoEntry | None:
        """The video's cached answer (header, body), loaded on a miss; None for no video."""
        entry = await get_or_load(
            self.ctx.cache, self.ctx.flight, video_cache_key(video_id),
            lambda: self._video_entry(uuid.UUID(video_id)), self.settings.cache_ttl_seconds,
        )
        if entry is None:
            return None
        if self._opened is None:
            return _VideoEntry.opened(entry)
        return self._opened.opened(video_id, entry)

    async def _video_entry(self, video_id: uuid.UUID) -> bytes | None:
        record = await queries.fetch(video_id)
        if record is None:
            return None
        (urls,) = await self.storage.media_urls([record])
        meta = {"owner_id": record.owner_id,
                "discoverable": is_discoverable(record.processing_status, record.visibility),
                "etag": entity_tag(record.version)}
        return _video_envelope(meta, orjson.dumps(view_fields(record, urls)),
                               playback_facts(record))

    async def public_page(self, limit: int, listing: Listing) -> Page:
        """Completed public videos, as `listing` asks. The default listing's first page of
        each size (newest first, unfiltered) is cached; any other page is read afresh."""
        search_config = self.settings.search_config
        if listing.sort is Sort.RELEVANCE:
            generation = await self._list_generation()
            return await self._render_page(
                await self.ranked.page(listing, limit + 1, generation), limit, listing)
        if listing != DEFAULT_LISTING:
            return await self._render_page(
                await queries.public_page(listing, limit + 1, search_config), limit, listing)

        async def load() -> bytes:
            page = await self._render_page(
                await queries.public_page(listing, limit + 1, search_config), limit, listing)
            return _envelope({"next": page.next_cursor}, page.body)

        entry: bytes | None
        generation = await self._list_generation()
        if generation is None:  # the cache does not answer: read the database, once
            entry = await self.ctx.flight.run(first_page_cache_key(limit, "uncached"), load)
        else:
            entry = await get_or_load(
                self.ctx.cache, self.ctx.flight, first_page_cache_key(limit, generation),
                load, self.settings.cache_ttl_seconds,
            )
        assert entry is not None
        meta, body = _open_envelope(entry)
        return Page(body=body, next_cursor=meta["next"])

    async def _list_generation(self) -> str | None:
        """The generation the first pages and the relevance rankings are cached under,
        started afresh (a new random token) after a change dropped it; None when the cache
        does not answer."""
        cache = self.ctx.cache
        try:
            current = await cache.get(LIST_GENERATION_KEY)
            if current is not None:
                return current.decode()
            fresh = secrets.token_hex(8)
            # Concurrent starts may replace each other's token: that costs a few loads,
            # never a stale page (every page under a token was read after it was set).
            await cache.set(LIST_GENERATION_KEY, fresh.encode(), LIST_GENERATION_TTL_SECONDS)
            return fresh
        except CacheUnavailable:
            return None

    async def owner_page(self, actor: Actor, limit: int, listing: Listing) -> Page:
        """The actor's own videos in every state, as `listing` asks."""
        return await self._render_page(
            await queries.owner_page(actor.id, listing, limit + 1, self.settings.search_config),
            limit, listing)

    async def uploader_page(self, user_id: str, limit: int, listing: Listing) -> Page:
        """One uploader's completed public videos, as `listing` asks."""
        return await self.public_page(limit, attrs.evolve(listing, user_id=user_id))

    async def _render_page(self, records: queries.Rows, limit: int, listing: Listing) -> Page:
        """`records` holds up to limit + 1 rows: the extra one only says a next page exists."""
        shown = list(records[:limit])
        next_cursor = None
        if len(records) > limit:
            next_cursor = _cursor_after(records, limit - 1, listing).encode()
        urls = await self.storage.media_urls(shown)
        body = orjson.dumps([view_fields(record, url)
                             for record, url in zip(shown, urls, strict=True)])
        return Page(body=body, next_cursor=next_cursor)

    # -- the transcoder's API -----------------------------------------------------------------

    async def video_for_key(self, key: str) -> VideoIdOut:
        """The id of the video stored at `key` and its upload's checksum; a key no video
        could have is unknown without asking the database."""
        # Printable ASCII holds no control or bidirectional character: most keys pass in C,
        # without the check character by character (a tenth of a signed lookup's CPU).
        plain = len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()
        found = await queries.upload_by_key(key) if plain or is_storable_key(key) else None
        if found is None:
            raise NotFound("No video has this S3 key")
        video_id, algorithm, value = found
        checksum = ChecksumOut(algorithm, value) if algorithm and value else None
        return VideoIdOut(video_id=video_id, checksum=checksum)

    async def change_status(
        self, video_id: uuid.UUID, update: StatusUpdate, principal: ServicePrincipal
    ) -> TaggedVideo:
        """Apply a reported status (see `move_status`)."""
        return await self.move_status(video_id, update, principal)

    async def move_status(
        self, video_id: uuid.UUID, update: StatusUpdate, principal: Actor | ServicePrincipal,
        *, precondition: Callable[[VideoRecord], None] | None = None, reason: str | None = None,
    ) -> TaggedVideo:
        """Move a video through the state machine: idempotent for a repeat, 409 naming the
        allowed moves for a bad transition, compare-and-set against concurrent changes.
        `precondition` sees the row each time it is read and raises to refuse the move;
        `reason` goes to the history row (by default a move to FAILED's failure reason)."""
        for _ in range(STATUS_ATTEMPTS):
            current = await queries.fetch(video_id)
            if current is None:
                raise NotFound(f"No video {video_id}")
            if precondition is not None:
                precondition(current)
            old, new = current.processing_status, update.status
            if old is new:
                return await self.tagged_view(current)
            if not can_move(old, new):
                allowed = [status.value for status in allowed_from(old)]
                raise Conflict(
                    f"Cannot move a video from {old.value} to {new.value}; "
                    f"allowed from {old.value}: {', '.join(allowed)}",
                    current_status=old.value, allowed=allowed,
                )
            changed = self._changed(current, update)
            note = reason or (changed.failure_reason if new is Status.FAILED else None)
            if await status_write.compare_and_set_status(current, changed,
                                                         _principal_name(principal), note):
                break
        else:
            raise Conflict("The video kept changing while this update was applied; retry")
        wake(self.ctx)
        record_status_transition(old, new)
        await self.invalidate(video_id)
        await self.notify("on_status_changed", video=changed, old=old, new=new,
                           principal=principal)
        return await self.tagged_view(changed)

    @staticmethod
    def _changed(current: VideoRecord, update: StatusUpdate) -> VideoRecord:
        """A status change ends the lease and the progress reports; entering IN_PROGRESS
        (a retry or a reprocess) starts counting leases afresh."""
        failed = update.status is Status.FAILED
        failure_code = update.failure_code.value if failed and update.failure_code else None
        return attrs.evolve(
            current,
            processing_status=update.status,
            failure_reason=(update.failure_reason or "unspecified") if failed else None,
            failure_code=failure_code,
            duration_seconds=(
                update.duration_seconds if update.duration_seconds is not None
                else current.duration_seconds
            ),
            progress=None, progress_stage=None, progress_eta_seconds=None,
            lease_token_hash=None, lease_expires_at=None,
            lease_attempts=0 if update.status is Status.IN_PROGRESS else current.lease_attempts,
            # COMPLETED replaces the outputs (none in the seed's form); other moves keep them
            outputs=(outputs_json(update.outputs) if update.status is Status.COMPLETED
                     else current.outputs),
            updated_at=_now(),
            version=current.version + 1,
        )

    async def tagged_view(self, record: VideoRecord) -> TaggedVideo:
        """The video as its owner or the transcoder sees it, with its ETag."""
        (urls,) = await self.storage.media_urls([record])
        return TaggedVideo(to_view(record, urls), entity_tag(record.version))

    # -- cache and events ---------------------------------------------------------------------

    async def invalidate(self, video_id: uuid.UUID, *, listed: bool = True) -> None:
        """Forget the video, and unless the change left it out of every public listing
        (`listed` False: it was and stays unseen there), every cached first page and every
        kept relevance ranking, after the change committed.

        The video's key gets a tombstone, so a read that loaded the old row before the
        commit cannot store it afterwards. Dropping the list generation makes every first
        page and ranking cached so far unreachable at once; a late load stores under the
        dropped generation, where no one reads. A failed delete is sent once Redis answers."""
        await cache_invalidate(self.ctx.cache, video_cache_key(video_id),
                               hold=self.settings.cache_invalidation_hold_seconds)
        if listed:
            await cache_delete(self.ctx.cache, LIST_GENERATION_KEY)

    async def notify(self, event: str, **kwargs: Any) -> None:
        """Fire an event after commit. A failing listener is logged; the change stands."""
        try:
            await resolve_all(getattr(self.ctx.pm.hook, event)(ctx=self.ctx, **kwargs))
        except Exception:
            log.exception("video event listener failed", extra={"event": event})
