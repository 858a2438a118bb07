"""The deny-list of signed-out sessions and users, kept in the app's cache.

A sign-out records the session's id until its tokens expire, and the user's sign-out
time S (this server's clock, taken once Cognito's `GlobalSignOut` has returned) for the
longest access-token lifetime. A token's `iat` is whole seconds of Cognito's clock, which
may differ from ours by up to `margin` seconds, so a token of that user is judged by its
`iat`:

- issued surely before S (`iat + 1 <= S - margin`): refused;
- issued surely after S (`iat > S + margin`): accepted (a new sign-in);
- in between, the same second included: Cognito decides, since it alone knows whether the
  token predates its sign-out (`GetUser` refuses a signed-out token). Its answer is kept
  for that token and that sign-out, so each such token costs one call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from core.cache import Cache

# Asks the provider whether the token under judgement is still valid.
StillValid = Callable[[], Awaitable[bool]]
PREFIX = "auth_cognito:revoked"


class Revocations:
    """Signed-out sessions (by `origin_jti`, else `jti`) and users (by `sub`).

    `cache` should be a `LocalFallback`: while the shared store is down, a sign-out is
    kept by the process that handled it and other processes accept the token until it
    expires (refusing every token would sign everyone out for the outage)."""

    def __init__(
        self,
        cache: Cache,
        *,
        remember_seconds: int,
        margin: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cache = cache
        self.remember_seconds = remember_seconds
        self.margin = margin
        self.clock = clock

    @staticmethod
    def _session_key(claims: dict[str, Any]) -> str:
        return f"{PREFIX}:session:{claims.get('origin_jti') or claims['jti']}"

    @staticmethod
    def _user_key(claims: dict[str, Any]) -> str:
        return f"{PREFIX}:user:{claims['sub']}"

    @staticmethod
    def _verdict_key(claims: dict[str, Any], signed_out: bytes) -> str:
        return f"{PREFIX}:verdict:{claims['jti']}:{signed_out.decode()}"

    async def revoke(self, claims: dict[str, Any]) -> None:
        """Record a sign-out of the session `claims` belong to, and of its user."""
        now = self.clock()
        ttl = max(float(claims["exp"]) - now, 0) + self.margin + 1
        await self.cache.set(self._session_key(claims), b"1", ttl)
        await self.cache.set(self._user_key(claims), f"{now:.6f}".encode(),
                             self.remember_seconds + self.margin + 1)

    async def is_revoked(self, claims: dict[str, Any], still_valid: StillValid) -> bool:
        """True when the token was signed out; `still_valid` is asked only when its `iat`
        lies within the margin of its user's last sign-out."""
        session, signed_out = await asyncio.gather(
            self.cache.get(self._session_key(claims)), self.cache.get(self._user_key(claims))
        )
        if session is not None:
            return True
        if signed_out is None:
            return False
        cutoff, issued = float(signed_out), int(claims["iat"])
        if issued + 1 <= cutoff - self.margin:
            return True
        if issued > cutoff + self.margin:
            return False
        return await self._ask(claims, signed_out, still_valid)

    async def _ask(
        self, claims: dict[str, Any], signed_out: bytes, still_valid: StillValid
    ) -> bool:
        key = self._verdict_key(claims, signed_out)
        known = await self.cache.get(key)
        if known is not None:
            return known == b"revoked"
        revoked = not await still_valid()
        ttl = max(float(claims["exp"]) - self.clock(), 0) + self.margin + 1
        await self.cache.set(key, b"revoked" if revoked else b"valid", ttl)
        return revoked
