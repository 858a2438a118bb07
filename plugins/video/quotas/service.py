"""Deciding what a user's quotas allow. No web framework here.

Each limit is named in the refusal (`limit` member): `videos_per_user` and
`bytes_per_user` (403), `upload_urls_per_hour` (429 with `Retry-After`). Upload URLs are
counted per user in fixed hourly windows by the kernel's rate limiter, in the app's cache:
with `cache_redis` every worker counts against one limit; while Redis is down each worker
counts on its own (the limit holds per worker, uploads go on).
"""

from __future__ import annotations

import datetime as dt

from core.context import AppContext
from core.errors import Forbidden, TooManyRequests
from core.ratelimit import Limit, RateLimiter
from plugins.video.config import VideoSettings
from plugins.video.keys import MediaKind
from plugins.video.models import VideoRecord
from plugins.video.quotas import queries
from plugins.video.quotas.models import HourlyUsage, QuotaUsage, Usage

VIDEOS_PER_USER = "videos_per_user"
BYTES_PER_USER = "bytes_per_user"
UPLOAD_URLS_PER_HOUR = "upload_urls_per_hour"
HOUR_SECONDS = 3600


def _limit_or_none(limit: int) -> int | None:
    """A configured limit; 0 means none."""
    return limit or None


class QuotaService:
    """One per app, kept by the `VideoService` that asks it before uploads and inserts."""

    def __init__(self, ctx: AppContext, settings: VideoSettings) -> None:
        self.ctx = ctx
        self.videos_limit = _limit_or_none(settings.quota_videos_per_user)
        self.bytes_limit = _limit_or_none(settings.quota_bytes_per_user)
        hourly = settings.quota_upload_urls_per_hour
        self.hourly_limit = Limit(hourly, HOUR_SECONDS) if hourly else None
        self._limiter: RateLimiter | None = None

    @property
    def storage_limited(self) -> bool:
        return self.videos_limit is not None or self.bytes_limit is not None

    def limiter(self) -> RateLimiter:
        # One limiter per running app: its per-process fallback must outlive a request.
        if self._limiter is None or self._limiter.cache is not self.ctx.cache:
            self._limiter = RateLimiter(self.ctx.cache, prefix="video:quota")
        return self._limiter

    async def check_upload_url(self, owner_id: str, kind: MediaKind,
                               declared_bytes: int | None) -> None:
        """Refuse a new video upload the stored limits could not take (403), then count the
        URL against the hourly limit (429 once over)."""
        if kind is MediaKind.VIDEO and self.storage_limited:
            self._check_storage(await queries.stored_usage(owner_id), declared_bytes or 0)
        await self._count_upload_url(owner_id)

    async def check_registration(self, record: VideoRecord) -> None:
        """Within the transaction inserting `record`: refuse it (403) when the owner's videos
        would go over a stored limit. The owner's registrations take turns, so two at the
        edge of a limit never both pass."""
        if not self.storage_limited:
            return
        await queries.lock_owner(record.owner_id)
        self._check_storage(await queries.stored_usage(record.owner_id), record.size_bytes)

    def _check_storage(self, usage: queries.StoredUsage, new_bytes: int) -> None:
        if self.videos_limit is not None and usage.videos >= self.videos_limit:
            raise Forbidden(f"{VIDEOS_PER_USER}: {usage.videos} of {self.videos_limit} videos "
                            "used; delete one to add another", limit=VIDEOS_PER_USER)
        if self.bytes_limit is not None and usage.bytes + new_bytes > self.bytes_limit:
            raise Forbidden(
                f"{BYTES_PER_USER}: {usage.bytes} of {self.bytes_limit} bytes used; "
                f"{new_bytes} more would go over it", limit=BYTES_PER_USER,
            )

    async def _count_upload_url(self, owner_id: str) -> None:
        limit = self.hourly_limit
        if limit is None:
            return
        try:
            await self.limiter().hit(UPLOAD_URLS_PER_HOUR, owner_id, limit)
        except TooManyRequests as refused:
            retry_after = refused.headers["Retry-After"]
            over = TooManyRequests(
                f"{UPLOAD_URLS_PER_HOUR}: {limit.requests} per hour used; retry after "
                f"{retry_after} seconds", retry_after=int(retry_after),
            )
            over.extra["limit"] = UPLOAD_URLS_PER_HOUR
            raise over from None

    async def usage(self, owner_id: str) -> QuotaUsage:
        """The owner's usage against each limit (null limits are unlimited)."""
        stored = await queries.stored_usage(owner_id)
        return QuotaUsage(
            videos=Usage(used=stored.videos, limit=self.videos_limit),
            bytes=Usage(used=stored.bytes, limit=self.bytes_limit),
            upload_urls_per_hour=await self._hourly_usage(owner_id),
        )

    async def _hourly_usage(self, owner_id: str) -> HourlyUsage:
        if self.hourly_limit is None:
            return HourlyUsage(used=0, limit=None)
        limiter = self.limiter()
        key = limiter.key(UPLOAD_URLS_PER_HOUR, owner_id)
        counted = await limiter.counters.get(key)
        remaining = await limiter.counters.ttl(key)
        if counted is None or remaining is None:
            return HourlyUsage(used=0, limit=self.hourly_limit.requests)
        resets_at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=remaining)
        return HourlyUsage(used=min(int(counted), self.hourly_limit.requests),
                           limit=self.hourly_limit.requests,
                           resets_at=resets_at.replace(microsecond=0))
