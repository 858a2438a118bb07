"""Telling a key asked for again from one asked for once, without a store that grows.

Stores that keep something per key (a route's match, an opened cache entry) pay for each
key they keep: a copy made, an entry inserted, an older one evicted. A key asked for once,
as each video of a crawl is, gets nothing back for that. `RecentlyAsked` lets such a store
keep only what is asked for a second time: a fixed table remembers the last key of each
slot, so a key asked for again before another key took its slot is known again.
"""

from __future__ import annotations

from collections.abc import Hashable

SLOTS = 1024


class RecentlyAsked:
    """The last key asked for in each of `slots` slots (a power of two), chosen by hash."""

    def __init__(self, slots: int = SLOTS) -> None:
        if slots < 1 or slots & (slots - 1):
            raise ValueError("slots must be a power of two")
        self._mask = slots - 1
        self._keys: list[Hashable | None] = [None] * slots

    def again(self, key: Hashable) -> bool:
        """Whether `key` was the last key asked for in its slot; it is the last one now."""
        slot = hash(key) & self._mask
        if self._keys[slot] == key:
            return True
        self._keys[slot] = key
        return False
