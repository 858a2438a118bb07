"""What the kernel needs of a cache backend, and what a backend raises when its store
does not answer. Values are bytes (callers serialise with orjson)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class CacheUnavailable(Exception):
    """The cache's store did not answer; callers fall back to the source of truth."""


@runtime_checkable
class Cache(Protocol):
    """What the kernel needs of a cache backend. TTLs are seconds.

    Every method may raise `CacheUnavailable` when the backend's store does not answer.
    What each use falls back to while the shared store (Redis) is down:

    - cached data (`get`/`add`/`set`/`delete`, through `cache_get`, `cache_set`,
      `cache_delete`, `cache_invalidate`, `get_or_load`): a miss; requests are answered
      from the database. Nothing is cached per process meanwhile, so no process can serve
      an entry another one invalidated.
    - rate-limit counters (`incr` + `ttl`) and the SigV4 replay cache (`add`): the Redis
      backend answers them from a per-process store instead of raising, so limits count
      per process and a replay is refused by the process that saw the first request.
      Other backends may raise: callers keep a per-process fallback of their own.
    - the token deny-list (`set` on logout, `get` per request): wrap the cache in
      `LocalFallback`; a revocation made while the store is down is kept by the process
      that handled it (and stays in force there once the store is back), other processes
      accept the token until it expires. Refusing every token instead would sign every
      user out for the length of the outage.
    - view windows (`claim`): no fallback; views seen meanwhile are not counted, rather
      than counted again by each process.
    """

    name: str
    # True when every process of the deployment sees the same entries (Redis), False for a
    # per-process store. Deny-lists and replay caches warn when it is False in production.
    shared: bool

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        """Set only if absent; True when this call set it (replay caches, locks)."""
        ...

    async def claim(self, keys: Sequence[str], ttl: float) -> list[bool]:
        """Take each key that is absent for `ttl` seconds, all in one call; for each key,
        True when this call took it. Never answered from a per-process store: raises
        `CacheUnavailable` while the store does not answer."""
        ...

    async def delete(self, *keys: str) -> None: ...

    async def incr(self, key: str, ttl: float) -> int:
        """Add one to a counter that expires `ttl` seconds after its first increment."""
        ...

    async def ttl(self, key: str) -> float | None:
        """Seconds until the key expires, None when absent."""
        ...

    async def ping(self) -> None:
        """Raise CacheUnavailable when the store does not answer."""
        ...

    async def close(self) -> None: ...
