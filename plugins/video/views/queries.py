"""The view counts' one write: add each video's pending views to its row."""

from __future__ import annotations

import uuid

from core.db import write_transaction
from plugins.video.tables import Video


async def add_views(counts: dict[str, int]) -> None:
    """Add the views of every video in one transaction, one UPDATE a video. A video
    deleted since matches no row: its views are dropped."""
    async with write_transaction(Video):
        for video_id, views in counts.items():
            await Video.update({Video.view_count: Video.view_count + views}).where(
                Video.id == uuid.UUID(video_id))
