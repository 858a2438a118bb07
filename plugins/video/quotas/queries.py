"""A user's stored videos and bytes, read from `videos` (through `videos_owner_listing_idx`,
whose first column is `owner_id`), and the lock that takes one owner's registrations in turn."""

from __future__ import annotations

import attrs

from plugins.video.statements import Statement
from plugins.video.tables import Video

USAGE = Statement(
    "SELECT count(*) AS videos, coalesce(sum(size_bytes), 0) AS stored_bytes "
    "FROM videos WHERE owner_id = $1"
)
# The two-key form of the advisory locks: its first key keeps quota locks apart from every
# other advisory lock (the migration lock takes the one-key form).
QUOTA_LOCK_SPACE = 0x71756F74  # "quot"
OWNER_LOCK = Statement("SELECT pg_advisory_xact_lock($1, hashtext($2))")


@attrs.frozen
class StoredUsage:
    videos: int
    bytes: int


async def stored_usage(owner_id: str) -> StoredUsage:
    """The owner's videos and the sum of their sizes; a deleted video is no longer counted."""
    [row] = await USAGE.fetch(owner_id)
    return StoredUsage(videos=int(row["videos"]), bytes=int(row["stored_bytes"]))


async def lock_owner(owner_id: str) -> None:
    """Within a transaction: wait for the owner's other registrations to commit, so each one
    counts the videos of those before it. SQLite takes its write lock at BEGIN already."""
    if Video._meta.db.engine_type == "postgres":
        await OWNER_LOCK.fetch(QUOTA_LOCK_SPACE, owner_id)
