"""The transcoder's side of a video's processing: leases, progress and status reports.

A lease is three columns of the video (its token's hash, its end, the leases claimed since
the video last entered IN_PROGRESS). Every write is a compare-and-set on the video's
version, except a heartbeat, which only moves the end of a lease its token still holds;
so two claims, or a claim and the sweep, can never both win. Each of these writes is on a
video IN_PROGRESS, which no public listing or search shows (nor one it leaves FAILED):
they keep the cached first pages and rankings (`invalidate(…, listed=False)`), so a
transcoder reporting progress every second does not make every search rank afresh.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from functools import partial

import attrs

from core.auth import ServicePrincipal
from core.errors import Conflict, NotFound, ValidationFailed
from core.events import wake
from core.metrics import record_status_transition
from plugins.video import queries, status_write
from plugins.video.keys import processed_prefix
from plugins.video.library.etags import TaggedVideo
from plugins.video.models import LeaseExtendedOut, LeaseOut, StatusUpdate, VideoRecord
from plugins.video.playback.outputs import check_outputs
from plugins.video.service import STATUS_ATTEMPTS, VideoService
from plugins.video.states import FailureCode, Status
from plugins.video.transcoding import leases

# Expired leases one sweep ends at most; the next sweep takes the rest.
SWEEP_BATCH = 100
SYSTEM_PRINCIPAL = ServicePrincipal(id=leases.SYSTEM, method="lease-sweep")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TranscodingService:
    """One per app, beside the VideoService, kept in `ctx.state[STATE_KEY]`."""

    def __init__(self, videos: VideoService, clock: Callable[[], dt.datetime] = _now) -> None:
        self.videos = videos
        self.settings = videos.settings
        self.clock = clock

    async def _fetch(self, video_id: uuid.UUID) -> VideoRecord:
        current = await queries.fetch(video_id)
        if current is None:
            raise NotFound(f"No video {video_id}")
        return current

    # -- leases -------------------------------------------------------------------------------

    async def claim(self, video_id: uuid.UUID) -> LeaseOut:
        """A new lease on a video IN_PROGRESS; 409 naming the end of a live one. A lease
        that ended is expired first (released for retry, or FAILED after the last attempt)."""
        for _ in range(STATUS_ATTEMPTS):
            current = await self._fetch(video_id)
            now = self.clock()
            if current.processing_status is not Status.IN_PROGRESS:
                raise Conflict(
                    f"Only a video IN_PROGRESS can be leased; this one is "
                    f"{current.processing_status.value}",
                    current_status=current.processing_status.value)
            if leases.is_live(current, now):
                expires_at = current.lease_expires_at
                assert expires_at is not None
                raise Conflict(f"This video is leased until {expires_at.isoformat()}",
                               lease_expires_at=expires_at.isoformat())
            if current.lease_token_hash is not None:
                await self.expire(current)
                continue
            token = leases.new_token()
            expires_at = now + dt.timedelta(seconds=self.settings.lease_seconds)
            changed = attrs.evolve(
                current, lease_token_hash=leases.token_hash(token), lease_expires_at=expires_at,
                lease_attempts=current.lease_attempts + 1, progress=None, progress_stage=None,
                progress_eta_seconds=None, updated_at=now, version=current.version + 1)
            if await queries.compare_and_set_transcoding(current, changed, record_event=False):
                await self.videos.invalidate(video_id, listed=False)
                return LeaseOut(lease_token=token, expires_at=expires_at,
                                attempt=changed.lease_attempts)
        raise Conflict("The video kept changing while the lease was claimed; retry")

    async def heartbeat(self, video_id: uuid.UUID, token: str | None) -> LeaseExtendedOut:
        """Extend the live lease `token` holds by `lease_seconds` from now; 409 otherwise."""
        if not token:
            raise ValidationFailed.field(leases.LEASE_HEADER, "send the lease's token")
        current = await self._fetch(video_id)
        now = self.clock()
        leases.check_report(current, token, now)
        expires_at = now + dt.timedelta(seconds=self.settings.lease_seconds)
        assert current.lease_token_hash is not None
        if not await queries.extend_lease(video_id, current.lease_token_hash, now, expires_at):
            raise Conflict("The lease ended or was taken over; claim a new one")
        return LeaseExtendedOut(expires_at=expires_at, attempt=current.lease_attempts)

    async def expire(self, current: VideoRecord) -> bool:
        """End `current`'s lease if it ended: the video stays IN_PROGRESS for another claim
        (a history row and a status-change event IN_PROGRESS → IN_PROGRESS, reason
        `lease_expired`, by `system`), or becomes FAILED with the code `lease_expired` once
        `lease_max_attempts` leases ended so. False when nothing was due or another
        process did it first."""
        now = self.clock()
        if (current.processing_status is not Status.IN_PROGRESS
                or current.lease_token_hash is None or leases.is_live(current, now)):
            return False
        exhausted = current.lease_attempts >= self.settings.lease_max_attempts
        changed = attrs.evolve(
            current, lease_token_hash=None, lease_expires_at=None, progress=None,
            progress_stage=None, progress_eta_seconds=None, updated_at=now,
            version=current.version + 1)
        if exhausted:
            changed = attrs.evolve(
                changed, processing_status=Status.FAILED,
                failure_code=FailureCode.LEASE_EXPIRED.value,
                failure_reason=f"the transcoder's lease expired {current.lease_attempts} "
                               "time(s) without a result")
        if not await status_write.compare_and_set_status(current, changed, leases.SYSTEM,
                                                         leases.LEASE_EXPIRED):
            return False
        wake(self.videos.ctx)
        await self.videos.invalidate(current.id, listed=False)
        if exhausted:
            record_status_transition(Status.IN_PROGRESS, Status.FAILED)
            await self.videos.notify("on_status_changed", video=changed,
                                     old=Status.IN_PROGRESS, new=Status.FAILED,
                                     principal=SYSTEM_PRINCIPAL)
        return True

    async def sweep(self) -> int:
        """End every expired lease (up to `SWEEP_BATCH`); returns how many this call ended.
        Safe in several processes at once: each end is a compare-and-set."""
        ended = 0
        for video_id in await queries.expired_leases(self.clock(), SWEEP_BATCH):
            current = await queries.fetch(video_id)
            if current is not None and await self.expire(current):
                ended += 1
        return ended

    # -- reports ------------------------------------------------------------------------------

    async def report(self, video_id: uuid.UUID, update: StatusUpdate,
                     principal: ServicePrincipal, token: str | None) -> TaggedVideo:
        """A status or progress report. While a lease is live only its token may report;
        without any lease the v1 flow is unchanged."""
        _check_fields(update)
        if update.is_progress():
            return await self.report_progress(video_id, update, token)
        check = partial(self._check_report, token, update)
        return await self.videos.move_status(video_id, update, principal, precondition=check)

    def _check_token(self, token: str | None, current: VideoRecord) -> None:
        leases.check_report(current, token, self.clock())

    def _check_report(self, token: str | None, update: StatusUpdate,
                      current: VideoRecord) -> None:
        """The lease's token, then the reported outputs against the video's own prefix."""
        self._check_token(token, current)
        template = self.videos.settings.playback_key_template
        check_outputs(update.status, update.outputs,
                      processed_prefix(template, current.video_s3_key))

    async def report_progress(self, video_id: uuid.UUID, update: StatusUpdate,
                              token: str | None) -> TaggedVideo:
        """Store a progress report on a video IN_PROGRESS (409 otherwise) and record its
        `video.progress` event. Within a stage of one lease, progress only rises: a lower
        value (a late or repeated report) changes nothing and is still a 200."""
        assert update.progress is not None and update.stage is not None
        for _ in range(STATUS_ATTEMPTS):
            current = await self._fetch(video_id)
            self._check_token(token, current)
            if current.processing_status is not Status.IN_PROGRESS:
                raise Conflict(
                    f"Progress is reported on a video IN_PROGRESS; this one is "
                    f"{current.processing_status.value}",
                    current_status=current.processing_status.value)
            same_stage = current.progress_stage == update.stage and current.progress is not None
            if same_stage and update.progress < (current.progress or 0):
                return await self.videos.tagged_view(current)
            if (update.progress, update.stage, update.eta_seconds) == (
                    current.progress, current.progress_stage, current.progress_eta_seconds):
                return await self.videos.tagged_view(current)
            changed = attrs.evolve(
                current, progress=update.progress, progress_stage=update.stage,
                progress_eta_seconds=update.eta_seconds, updated_at=self.clock(),
                version=current.version + 1)
            if await queries.compare_and_set_transcoding(current, changed, record_event=True):
                break
        else:
            raise Conflict("The video kept changing while the progress was stored; retry")
        wake(self.videos.ctx)
        await self.videos.invalidate(video_id, listed=False)
        return await self.videos.tagged_view(changed)


def _check_fields(update: StatusUpdate) -> None:
    """422 naming the field that does not go with the reported status."""
    if update.failure_code is not None and update.status is not Status.FAILED:
        raise ValidationFailed.field("failure_code", "only with status FAILED")
    if update.outputs is not None and update.status is not Status.COMPLETED:
        raise ValidationFailed.field("outputs", "only with status COMPLETED")
    if not update.is_progress():
        return
    if update.status is not Status.IN_PROGRESS:
        field = "progress" if update.progress is not None else (
            "stage" if update.stage is not None else "eta_seconds")
        raise ValidationFailed.field(field, "only with status IN_PROGRESS")
    if update.progress is None:
        raise ValidationFailed.field("progress", "a progress report needs progress (0-100)")
    if update.stage is None:
        raise ValidationFailed.field("stage", "a progress report needs its stage")
