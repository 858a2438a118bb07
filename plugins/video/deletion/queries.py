"""The deletion jobs in the database: written with the video's removal, claimed by workers.

A claim moves a job's `due_at` past its lease and counts the attempt; the attempt count
is the claim's token, so a worker whose lease ran out (and whose job another worker
claimed) changes nothing when it finishes late. PostgreSQL claims with `FOR UPDATE SKIP
LOCKED`, so concurrent workers on any machine each take a different job; SQLite's write
lock, taken at BEGIN, queues them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import attrs
import orjson
from piccolo.columns.combination import And

from core.db import write_transaction
from plugins.video import outbox
from plugins.video.models import VideoRecord
from plugins.video.statements import Statement
from plugins.video.tables import Video, VideoDeletion

# Longest error text kept on a job.
ERROR_LENGTH = 2000


class DeletedKey(Exception):
    """The key belonged to a deleted video: it may not be registered again."""


@attrs.frozen
class Target:
    """What one deletion removes from S3: an object, or every object under a prefix. A
    `shared` object (a thumbnail, which several videos may show) stays while another video
    refers to it."""

    bucket: str
    key: str
    prefix: bool = False
    shared: bool = False


@attrs.frozen
class ClaimedJob:
    id: uuid.UUID
    targets: list[Target]
    # The claim's token: the job's attempt count once claimed.
    attempt: int


CLAIM_SQL = (
    "UPDATE video_deletions SET due_at = $2, attempts = attempts + 1 WHERE id = "
    "(SELECT id FROM video_deletions WHERE due_at <= $1 ORDER BY due_at LIMIT 1{lock}) "
    "RETURNING id, targets, attempts"
)
CLAIM = {
    "postgres": Statement(CLAIM_SQL.format(lock=" FOR UPDATE SKIP LOCKED")),
    "sqlite": Statement(CLAIM_SQL.format(lock="")),
}


def _targets_json(targets: Sequence[Target]) -> str:
    return orjson.dumps([attrs.asdict(target) for target in targets]).decode()


def _targets(text: str) -> list[Target]:
    return [Target(**target) for target in orjson.loads(text)]


async def delete_video(record: VideoRecord, targets: Sequence[Target], now: dt.datetime) -> bool:
    """Remove the video (its history cascades) and record the job that removes its objects,
    in one transaction; only if the row still has `record.version`. False means it changed
    (or went) meanwhile: read it again and decide again."""
    async with write_transaction(Video):
        deleted = await Video.delete().where(
            (Video.id == record.id) & (Video.version == record.version)
        ).returning(Video.id)
        if not deleted:
            return False
        await VideoDeletion.insert(VideoDeletion(
            id=uuid.uuid4(), video_id=record.id, owner_id=record.owner_id,
            video_s3_key=record.video_s3_key, targets=_targets_json(targets),
            deleted_at=now, due_at=now, attempts=0,
        ))
        await outbox.record_deleted(record)
    return True


async def key_deleted(key: str) -> bool:
    """Whether `key` belonged to a deleted video (refused forever: keys are never reissued)."""
    return await VideoDeletion.exists().where(VideoDeletion.video_s3_key == key)


async def refuse_deleted_key(key: str) -> None:
    """Raise `DeletedKey` inside a registration's transaction when `key` was deleted. Read
    after the video row is written: a deletion that committed before that write is seen."""
    if await key_deleted(key):
        raise DeletedKey(key)


async def claim_due(now: dt.datetime, lease_until: dt.datetime) -> ClaimedJob | None:
    """Take the job due the longest, holding it until `lease_until`; None when none is due."""
    statement = CLAIM[VideoDeletion._meta.db.engine_type]
    async with write_transaction(VideoDeletion):
        rows = await statement.fetch(now, lease_until)
    if not rows:
        return None
    row = rows[0]
    return ClaimedJob(id=row["id"], targets=_targets(row["targets"]), attempt=row["attempts"])


def _claimed(job: ClaimedJob) -> And:
    return (VideoDeletion.id == job.id) & (VideoDeletion.attempts == job.attempt)


async def finish(job: ClaimedJob, now: dt.datetime) -> None:
    """The job's objects are gone: it is due never again."""
    await VideoDeletion.update({
        VideoDeletion.due_at: None, VideoDeletion.finished_at: now,
        VideoDeletion.last_error: None,
    }).where(_claimed(job))


async def postpone(job: ClaimedJob, retry_at: dt.datetime, error: str) -> None:
    """The job failed: due again at `retry_at`, the reason kept."""
    await VideoDeletion.update({
        VideoDeletion.due_at: retry_at, VideoDeletion.last_error: error[:ERROR_LENGTH],
    }).where(_claimed(job))


async def thumbnails_in_use(keys: Sequence[str]) -> set[str]:
    """Which of these thumbnail keys a video still shows."""
    if not keys:
        return set()
    rows = await Video.select(Video.thumbnail_s3_key).where(
        Video.thumbnail_s3_key.is_in(list(keys))
    )
    return {row["thumbnail_s3_key"] for row in rows}
