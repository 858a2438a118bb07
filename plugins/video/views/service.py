"""Counting views without a database write per view.

A viewer is the signed-in actor, else the client address, only ever kept hashed. Whether
a viewer already counted for a video within the window is asked of the app's cache
(shared by every worker with cache_redis); a per-process memo of what this process
added answers repeat viewers without a cache call. Counted views wait in `pending` until
the flusher writes them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from core.auth import Actor
from core.cache import Cache, CacheUnavailable

SEEN_PREFIX = "video:v1:seen:"
# The memo forgets its oldest pairs beyond this many: a forgotten pair costs a cache call.
MEMO_MAX_ENTRIES = 10_000
# A fixed key so every process names a viewer alike; raw addresses are never kept.
VIEWER_HASH_KEY = b"itube video viewers"


def viewer_subject(actor: Actor | None, address: Callable[[], str]) -> str:
    """Who is viewing: the signed-in actor, else the client address."""
    return f"user:{actor.id}" if actor is not None else f"address:{address()}"


def viewer_id(subject: str) -> str:
    """A viewer's subject hashed alike by every process, as the cache keeps it."""
    return hashlib.blake2b(subject.encode(), digest_size=12, key=VIEWER_HASH_KEY).hexdigest()


class ViewCounter:
    """The views one process counted and has not flushed yet, per video id."""

    def __init__(self, cache: Cache, window_seconds: float) -> None:
        self.cache = cache
        self.window_seconds = window_seconds
        self.pending: dict[str, int] = {}
        # hash((video id, viewer subject)) -> until when this process knows the cache holds
        # the pair. Python's hash is salted per process: no address is kept, and repeat
        # viewers skip the keyed hash.
        self._memo: dict[int, float] = {}

    async def saw(self, video_id: str, owner_id: str, actor: Actor | None,
                  address: Callable[[], str]) -> None:
        """Count a successful get of `video_id` unless the owner made it or the viewer
        already counted within the window; `address` is asked for anonymous viewers only.
        A cache that does not answer counts nothing."""
        if actor is not None and actor.id == owner_id:
            return
        subject = viewer_subject(actor, address)
        pair = hash((video_id, subject))
        now = time.monotonic()
        if self._memo.get(pair, 0.0) > now:
            return
        try:
            first = await self._mark_seen(f"{SEEN_PREFIX}{video_id}:{viewer_id(subject)}")
        except CacheUnavailable:
            return
        if first:
            self._remember(pair, now + self.window_seconds)
            self.pending[video_id] = self.pending.get(video_id, 0) + 1

    async def _mark_seen(self, key: str) -> bool:
        """Record the viewer in the cache for the window; False when it already was.

        A read then a write, not `add`: the Redis backend answers `add` from a per-process
        store while Redis is down, where these keys would push out the replay cache's and
        rate limits' entries, and each process would count the viewer again. `get` and
        `set` raise instead, so an outage counts nothing. Two processes seeing a new viewer
        at the same instant may both count it."""
        if await self.cache.get(key) is not None:
            return False
        await self.cache.set(key, b"", self.window_seconds)
        return True

    def _remember(self, pair: int, until: float) -> None:
        # Every pair lives one window, so insertion order is expiry order: the oldest goes.
        self._memo.pop(pair, None)
        if len(self._memo) >= MEMO_MAX_ENTRIES:
            del self._memo[next(iter(self._memo))]
        self._memo[pair] = until

    def take(self) -> dict[str, int]:
        """The pending counts, leaving none."""
        pending, self.pending = self.pending, {}
        return pending

    def put_back(self, counts: dict[str, int]) -> None:
        """Counts a flush could not write, kept for the next one."""
        for video_id, views in counts.items():
            self.pending[video_id] = self.pending.get(video_id, 0) + views
