"""Counting views without a database write or a cache call per view.

A viewer is the signed-in actor, else the client address, only ever kept hashed. A get
only notes its (video, viewer) pair, unless a per-process memo already holds the pair for
the window. The flusher then asks the app's cache (shared by every worker with
cache_redis) which of the noted pairs are new in the window, all in one call
(`Cache.claim`), and counts those into `pending`, which it writes to the database. A cache
that only this process reads (the in-process one) would just record the memo's answer
again, and evict a cached answer for every viewer: with it, the memo alone decides.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable

from core.auth import Actor
from core.cache import Cache, CacheUnavailable

SEEN_PREFIX = "video:v1:seen:"
# The memo forgets its oldest pairs beyond this many: a forgotten pair costs a cache call.
MEMO_MAX_ENTRIES = 10_000
# A fixed key so every process names a viewer alike; raw addresses are never kept.
VIEWER_HASH_KEY = b"itube video viewers"
# Pairs asked of the cache in one call: Redis runs a call's claims without a break.
CLAIMS_PER_CALL = 1_000


def viewer_subject(actor: Actor | None, address: Callable[[], str]) -> str:
    """Who is viewing: the signed-in actor, else the client address."""
    return f"user:{actor.id}" if actor is not None else f"address:{address()}"


def viewer_id(subject: str) -> str:
    """A viewer's subject hashed alike by every process, as the cache keeps it."""
    return hashlib.blake2b(subject.encode(), digest_size=12, key=VIEWER_HASH_KEY).hexdigest()


class ViewCounter:
    """The views one process noted, and those it counted and has not written yet."""

    def __init__(self, cache: Cache, window_seconds: float) -> None:
        self.cache = cache
        self.window_seconds = window_seconds
        self.pending: dict[str, int] = {}
        # (video id, viewer subject) of the gets noted since the last `confirm`.
        self.noted: list[tuple[str, str]] = []
        # One confirmation at a time: one that returns has counted all noted before it.
        self._confirming = asyncio.Lock()
        # hash((video id, viewer subject)) -> until when this process has noted the pair.
        # Python's hash is salted per process: no address is kept. Ordered, so the oldest
        # pair is found at once: a dict's first key is reached by stepping over every key
        # deleted before it (~8 µs a view once 10,000 pairs were noted).
        self._memo: OrderedDict[int, float] = OrderedDict()

    def saw(self, video_id: str, owner_id: str, actor: Actor | None,
            address: Callable[[], str]) -> None:
        """Note a successful get of `video_id` unless the owner made it or this process
        noted the viewer within the window; `address` is asked for anonymous viewers only.
        It counts once `confirm` finds it new in the window."""
        if actor is not None and actor.id == owner_id:
            return
        subject = viewer_subject(actor, address)
        pair = hash((video_id, subject))
        now = time.monotonic()
        if self._memo.get(pair, 0.0) > now:
            return
        self._remember(pair, now + self.window_seconds)
        self.noted.append((video_id, subject))

    async def confirm(self) -> None:
        """Count the noted views that are their viewer's first of the video in the window,
        as the cache records them for every process. A cache that does not answer counts
        nothing, and this process forgets it noted those viewers, so their next view once
        the cache is back may count. Not `add`, which the Redis backend answers from a
        per-process store while Redis is down, where each process would count the viewer
        again."""
        async with self._confirming:
            noted, self.noted = self.noted, []
            if not self.cache.shared:
                for video_id, _ in noted:  # each new to this process's memo in the window
                    self.pending[video_id] = self.pending.get(video_id, 0) + 1
                return
            for start in range(0, len(noted), CLAIMS_PER_CALL):
                batch = noted[start:start + CLAIMS_PER_CALL]
                keys = [f"{SEEN_PREFIX}{video_id}:{viewer_id(subject)}"
                        for video_id, subject in batch]
                try:
                    firsts = await self.cache.claim(keys, self.window_seconds)
                except CacheUnavailable:
                    for pair in noted[start:]:
                        self._memo.pop(hash(pair), None)
                    return
                for (video_id, _), first in zip(batch, firsts, strict=True):
                    if first:
                        self.pending[video_id] = self.pending.get(video_id, 0) + 1

    def _remember(self, pair: int, until: float) -> None:
        # Every pair lives one window, so insertion order is expiry order: the oldest goes.
        self._memo.pop(pair, None)
        if len(self._memo) >= MEMO_MAX_ENTRIES:
            self._memo.popitem(last=False)
        self._memo[pair] = until

    def take(self) -> dict[str, int]:
        """The pending counts, leaving none."""
        pending, self.pending = self.pending, {}
        return pending

    def put_back(self, counts: dict[str, int]) -> None:
        """Counts a flush could not write, kept for the next one."""
        for video_id, views in counts.items():
            self.pending[video_id] = self.pending.get(video_id, 0) + views

