"""Wrong confirmation codes per e-mail address, counted in the app's cache.

Cognito offers no call to void a code early, so the count lives here: once an address
has sent `limit` wrong codes, further attempts are refused without asking Cognito until
a new code is sent (resend-code) or the count expires with the code (Cognito's codes
last a day). With `cache_redis` every process counts together; while Redis is down each
process counts on its own (`LocalFallback`).
"""

from __future__ import annotations

import hashlib

from core.cache import Cache

# How long a Cognito confirmation code stays valid.
CODE_LIFETIME_SECONDS = 24 * 3600


class CodeAttempts:
    def __init__(self, cache: Cache, *, limit: int, ttl: float = CODE_LIFETIME_SECONDS):
        self.cache = cache
        self.limit = limit
        self.ttl = ttl

    @staticmethod
    def _key(email: str) -> str:
        # E-mail addresses stay out of the cache's key space.
        return f"auth_cognito:code_attempts:{hashlib.sha256(email.encode()).hexdigest()[:32]}"

    async def exhausted(self, email: str) -> bool:
        """True once `limit` wrong codes were sent for `email`."""
        count = await self.cache.get(self._key(email))
        return count is not None and int(count) >= self.limit

    async def wrong(self, email: str) -> None:
        await self.cache.incr(self._key(email), self.ttl)

    async def clear(self, email: str) -> None:
        """A new code was sent, or the account was confirmed: the count starts over."""
        await self.cache.delete(self._key(email))
