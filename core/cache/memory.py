"""The in-process cache: the kernel's default backend, and the per-process store other
backends fall back to."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence


class MemoryCache:
    """A size-bounded, TTL-aware, per-process cache (least recently used evicted first)."""

    name = "memory"
    shared = False

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max_entries = max_entries
        self._clock = clock

    def _live(self, key: str) -> tuple[float, bytes] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, value: bytes, ttl: float) -> None:
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        entry = self._live(key)
        return entry[1] if entry else None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._store(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if self._live(key):
            return False
        self._store(key, value, ttl)
        return True

    async def claim(self, keys: Sequence[str], ttl: float) -> list[bool]:
        taken = []
        for key in keys:
            free = self._live(key) is None
            if free:
                self._store(key, b"", ttl)
            taken.append(free)
        return taken

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)

    async def incr(self, key: str, ttl: float) -> int:
        entry = self._live(key)
        if entry is None:
            self._store(key, b"1", ttl)
            return 1
        count = int(entry[1]) + 1
        self._entries[key] = (entry[0], str(count).encode())
        return count

    async def ttl(self, key: str) -> float | None:
        entry = self._live(key)
        return None if entry is None else entry[0] - self._clock()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()
