"""The auth routes' rate limits counted per client address, or per e-mail address."""

from __future__ import annotations

from starlette.requests import Request

from core.deps import client_address, get_ctx
from core.ratelimit import RateLimiter
from core.sessions.policy import AuthRateLimits


class AuthLimiter:
    """Counts requests against the `AuthRateLimits` of the provider in `ctx.state[state_key]`."""

    def __init__(self, state_key: str, rate_limits: AuthRateLimits) -> None:
        self.prefix = f"{state_key}:ratelimit"
        self.limits = rate_limits.parsed()
        self._limiter: RateLimiter | None = None

    async def hit(self, request: Request, limit: str, identity: str | None = None) -> None:
        """Count one request against `limit`, keyed by `identity` or the client address."""
        scope = limit if identity is None else f"{limit}:email"
        if identity is None:
            identity = client_address(request)
        await self._limiter_of(request).hit(scope, identity, self.limits[limit])

    def _limiter_of(self, request: Request) -> RateLimiter:
        # One limiter per running app: its per-process fallback must outlive a request.
        cache = get_ctx(request).cache
        if self._limiter is None or self._limiter.cache is not cache:
            self._limiter = RateLimiter(cache, prefix=self.prefix)
        return self._limiter
