"""The share links' table. Its `(video, created_at, id)` index lives in its migration."""

from __future__ import annotations

from piccolo.columns import UUID, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table

from plugins.video.tables import Video


class VideoShare(Table, tablename="video_shares"):
    """A share link of one video; the row goes with the video (the key cascades)."""

    id = UUID(primary_key=True)
    video = ForeignKey(references=Video, on_delete=OnDelete.cascade, null=False)
    # SHA-256 of the token in hex: the token itself is shown once and never stored.
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    # Successful reads allowed; null for no limit.
    max_views = Integer(null=True, default=None)
    views = Integer(default=0)
    revoked_at = Timestamptz(null=True, default=None)
