"""Private HLS playback: a video's playlists, rewritten so every URI in them works for the
caller for a while (docs/playback.md).

No web framework here. Access is decided before: `manifest(video, path)` takes a video the
caller may see, so another route (a share link's) serves the same playlists under its own
rule; the video's own routes decide from its cached answer (`VideoService`), so a warm
request reads no row. The playlist text read from the processed bucket is kept in the
app's cache, under the video's version (any change to the video reads afresh; a deleted
video is never read again); the rewritten bytes are kept in this process per video, path
and signing window, so a popular video is signed once a window, not once a request.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Hashable

import attrs

from core.auth import Actor
from core.cache import SingleFlight, get_or_load
from core.errors import NotFound, ValidationFailed
from plugins.video.keys import processed_prefix
from plugins.video.playback.manifest import Playlist, PlaylistError, rewrite
from plugins.video.playback.playable import PlayableVideo
from plugins.video.service import CACHE_PREFIX, VideoService

log = logging.getLogger("itube.video.playback")
# Rewritten playlists kept per process (a few KiB each; a 10,000-segment one ~1 MiB).
REWRITTEN_ENTRIES = 256


@attrs.frozen
class PlaylistBody:
    """A rewritten playlist, and how long a client may keep it: at most the time its
    presigned URLs stay valid."""

    body: bytes
    max_age: int


@attrs.frozen
class _Rewritten:
    body: bytes
    # time.monotonic() when its URLs were signed: each is valid playback_url_ttl_seconds
    # from then at least.
    signed_at: float


class RewrittenPlaylists:
    """The last REWRITTEN_ENTRIES rewritten playlists, least recently used out first."""

    def __init__(self, entries: int = REWRITTEN_ENTRIES) -> None:
        self.entries = entries
        self._kept: OrderedDict[Hashable, _Rewritten] = OrderedDict()

    def get(self, key: Hashable) -> _Rewritten | None:
        found = self._kept.get(key)
        if found is not None:
            self._kept.move_to_end(key)
        return found

    def put(self, key: Hashable, value: _Rewritten) -> None:
        self._kept[key] = value
        self._kept.move_to_end(key)
        while len(self._kept) > self.entries:
            self._kept.popitem(last=False)


def playlist_cache_key(video_id: uuid.UUID, version: int, key: str) -> str:
    """The cache key of the playlist stored at `key` as video `video_id` at `version` has it."""
    return f"{CACHE_PREFIX}playlist:{video_id}:{version}:{key}"


class PlaybackService:
    """One per app, beside the `VideoService` whose videos it plays."""

    def __init__(self, videos: VideoService) -> None:
        self.videos = videos
        self.storage = videos.storage
        self.settings = videos.settings
        self.rewritten = RewrittenPlaylists()
        # Requests missing the same playlist in a new window share one rewrite.
        self.rewriting = SingleFlight()
        self.rewrites = 0

    async def visible_video(self, video_id: uuid.UUID, actor: Actor | None) -> PlayableVideo:
        """The video, under the rule of get-by-id: completed and public or unlisted, or the
        caller's own; anyone else gets the 404 of an unknown id."""
        return await self.videos.playable_video(video_id, actor)

    async def manifest(self, video: PlayableVideo, path: str | None = None) -> PlaylistBody:
        """The master playlist of `video` (`path` None), or the playlist at `path` under
        its processed prefix, rewritten. `video` is one the caller may see."""
        playlist = self._playlist(video, path)
        window = self.storage.signing_window()
        kept_as = (video.id, video.version, playlist.served_at, window)
        rewritten = self.rewritten.get(kept_as)
        if rewritten is None:
            rewritten = await self.rewriting.run(
                "\x00".join(map(str, kept_as)),
                lambda: self._rewritten(kept_as, video, playlist))
        ttl = self.settings.playback_url_ttl_seconds
        left = int(rewritten.signed_at + ttl - time.monotonic())
        return PlaylistBody(rewritten.body, max(0, min(ttl, left)))

    async def _rewritten(self, kept_as: Hashable, video: PlayableVideo,
                         playlist: Playlist) -> _Rewritten:
        text = await self._source(video, playlist)
        rewritten = await self._rewrite(video, text, playlist)
        self.rewritten.put(kept_as, rewritten)
        return rewritten

    def _playlist(self, video: PlayableVideo, path: str | None) -> Playlist:
        if video.hls_key is None:
            raise NotFound(f"Video {video.id} has no HLS playback")
        prefix = processed_prefix(self.settings.playback_key_template, video.video_s3_key)
        if path is None:
            return Playlist.master(video.hls_key, prefix)
        try:
            return Playlist.under(prefix, path)
        except PlaylistError:
            raise ValidationFailed.field(
                "path", "must be a .m3u8 path under the video (no '..', no empty segment)"
            ) from None

    async def _source(self, video: PlayableVideo, playlist: Playlist) -> str:
        """The playlist's text, from the cache or the processed bucket; 404 when absent."""
        bucket, limit = self.storage.buckets.processed, self.settings.max_playlist_bytes
        ctx = self.videos.ctx
        body = await get_or_load(
            ctx.cache, ctx.flight, playlist_cache_key(video.id, video.version, playlist.key),
            lambda: self.storage.read(bucket, playlist.key, limit),
            self.settings.playlist_cache_ttl_seconds,
        )
        if body is None:
            raise NotFound(f"No playlist {playlist.served_at} for video {video.id}")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("playlist is not UTF-8", extra={"video_id": str(video.id)})
            raise NotFound(f"No playlist {playlist.served_at} for video {video.id}") from None

    async def _rewrite(self, video: PlayableVideo, text: str, playlist: Playlist) -> _Rewritten:
        signed_at = time.monotonic()
        self.rewrites += 1
        try:
            body = await self.storage.signing_with(
                video, lambda sign: rewrite(text, playlist, sign))
        except PlaylistError as exc:
            log.warning("playlist refused", extra={"key": playlist.key, "reason": str(exc)})
            raise NotFound(f"The playlist {playlist.served_at} cannot be served") from None
        return _Rewritten(body.encode("utf-8"), signed_at)
