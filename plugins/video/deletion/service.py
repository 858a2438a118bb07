"""Deleting a video: gone from every read at once, its S3 objects left to the worker.

No web framework here: the routes parse and render, this module decides.
"""

from __future__ import annotations

import datetime as dt
import uuid

from core.auth import Actor
from core.errors import Conflict, NotFound
from core.events import wake
from plugins.video import queries as video_queries
from plugins.video.deletion import queries
from plugins.video.deletion.queries import Target
from plugins.video.keys import processed_prefix
from plugins.video.models import VideoRecord
from plugins.video.service import STATUS_ATTEMPTS, VideoService


class DeletionService:
    """One per app, next to the `VideoService` whose videos it deletes."""

    def __init__(self, videos: VideoService) -> None:
        self.videos = videos

    async def delete_video(self, video_id: uuid.UUID, actor: Actor) -> None:
        """Delete the actor's own video: 404 for anyone else's, as for a missing one. The
        row and its history go in one transaction with the job removing its objects."""
        for _ in range(STATUS_ATTEMPTS):
            record = await video_queries.fetch(video_id)
            if record is None or record.owner_id != actor.id:
                raise NotFound(f"No video {video_id}")
            if await queries.delete_video(record, self.targets(record), dt.datetime.now(dt.UTC)):
                break
        else:
            raise Conflict("The video kept changing while it was deleted; retry")
        wake(self.videos.ctx)
        await self.videos.invalidate(video_id)
        await self.videos.notify("on_video_deleted", video=record, principal=actor)

    def targets(self, record: VideoRecord) -> list[Target]:
        """Everything of the video in S3: the upload, the processed outputs (by prefix, so
        renditions and segments go too) and the thumbnail, unless another video shows it."""
        buckets = self.videos.storage.buckets
        prefix = processed_prefix(self.videos.settings.playback_key_template,
                                  record.video_s3_key)
        targets = [Target(buckets.raw, record.video_s3_key),
                   Target(buckets.processed, prefix, prefix=True)]
        if record.thumbnail_s3_key:
            targets.append(Target(buckets.thumbnails, record.thumbnail_s3_key, shared=True))
        return targets
