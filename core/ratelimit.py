"""A fixed-window rate limiter over the cache's `incr` and `ttl`.

Counters live in the app's cache, so with a shared cache (Redis) every process of the
deployment counts against the same limit. While that store is down the counters fall back
to a per-process store (`core.cache.LocalFallback`): limits then count per process, and
a broken store never takes sign-in down with it.
"""

from __future__ import annotations

import hashlib
import math
import re

import attrs

from core.cache import Cache, LocalFallback
from core.errors import TooManyRequests
from core.metrics import record_rate_limit_refusal

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"^\s*(\d+)\s*/\s*(?:(\d+)\s*s|(second|minute|hour|day))\s*$")


@attrs.frozen
class Limit:
    """At most `requests` within a window of `window_seconds`."""

    requests: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit | None:
        """`"10/minute"`, `"100/hour"`, `"3/30s"`; `"off"` means no limit (None)."""
        if text.strip().lower() == "off":
            return None
        match = _LIMIT.match(text)
        if not match or int(match[1]) < 1 or (match[2] and int(match[2]) < 1):
            raise ValueError(
                f"expected a limit like '10/minute', '100/hour', '3/30s' or 'off', got {text!r}"
            )
        window = int(match[2]) if match[2] else PERIODS[match[3]]
        return cls(requests=int(match[1]), window_seconds=window)

    def __str__(self) -> str:
        return f"{self.requests}/{self.window_seconds}s"


class RateLimiter:
    """Counts requests per (scope, identity) in fixed windows that start at the first hit."""

    def __init__(self, cache: Cache, prefix: str = "ratelimit") -> None:
        # The app's cache, kept to tell whether a limiter still serves the running app.
        self.cache = cache
        self.counters = LocalFallback(cache)
        self.prefix = prefix

    def key(self, scope: str, identity: str) -> str:
        # Identities may be e-mail addresses: keep them out of the cache's key space.
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        return f"{self.prefix}:{scope}:{digest}"

    async def hit(self, scope: str, identity: str, limit: Limit | None) -> None:
        """Count one request; raise TooManyRequests (with Retry-After) once over `limit`."""
        if limit is None:
            return
        key = self.key(scope, identity)
        if await self.counters.incr(key, limit.window_seconds) <= limit.requests:
            return
        record_rate_limit_refusal(scope)
        remaining = await self.counters.ttl(key)
        retry_after = math.ceil(remaining) if remaining else limit.window_seconds
        raise TooManyRequests(
            f"Too many requests; try again in {retry_after} seconds", retry_after=retry_after
        )
