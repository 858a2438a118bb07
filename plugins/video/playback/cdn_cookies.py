"""Which CloudFront signed cookies a viewer of a video gets. No web framework here."""

from __future__ import annotations

import uuid

from core.auth import Actor
from core.errors import NotFound
from plugins.video import queries
from plugins.video.playback.cdn import CdnCookie
from plugins.video.service import VideoService


async def playback_cookies(videos: VideoService, video_id: str,
                           actor: Actor | None) -> list[CdnCookie]:
    """The cookies opening the video's processed prefix on the CDN, for whoever may get the
    video by id (404 for anyone else, as there); none when its media is not served signed
    (public and unsigned, or not completed)."""
    await videos.video_json(video_id, actor)
    record = await queries.fetch(uuid.UUID(video_id))
    if record is None:
        raise NotFound(f"No video {video_id}")
    return videos.storage.cdn_cookies(record)
