"""Local verification of Cognito's JWTs against the pool's published keys.

The key set is fetched once and kept; a token naming an unknown key id fetches it again
(key rotation), at most once per `min_refetch_seconds` so a flood of forged key ids
cannot turn into a flood of fetches. No call to Cognito per request.

Until a key set has been fetched, every verification raises `KeysUnavailable` (a 503:
the token may well be valid), retrying the fetch at most every `UNLOADED_RETRY_SECONDS`
and never making a request wait behind a fetch already under way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

log = logging.getLogger("itube.auth_cognito")
ALGORITHM = "RS256"
# While no key set is known, how often a failed fetch may be tried again.
UNLOADED_RETRY_SECONDS = 5.0


class InvalidToken(Exception):
    """The token is not one this app accepts (the reason stays in the server log)."""


class KeysUnavailable(Exception):
    """The key set could not be fetched and none is known yet."""


class JwksKeys:
    """The signing keys published at `url`, by key id."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        url: str,
        *,
        min_refetch_seconds: float = 60,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.url = url
        self.min_refetch_seconds = min_refetch_seconds
        self.clock = clock
        self.fetches = 0
        self._keys: dict[str, jwt.PyJWK] = {}
        # True once a key set has been fetched: only then can an unknown key id be refused.
        self._loaded = False
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key `kid`, fetching the set again when it is unknown and the set is not fresh.
        Raises KeysUnavailable while no key set has been fetched."""
        key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._loaded and self._lock.locked():
            raise KeysUnavailable("the signing keys are being fetched")
        async with self._lock:
            key = self._keys.get(kid)
            if key is None and self._may_fetch():
                await self._fetch()
                key = self._keys.get(kid)
        if not self._loaded:
            raise KeysUnavailable("no signing keys fetched yet")
        return key

    async def load(self) -> None:
        """Fetch the set unless one is known (the readiness check)."""
        async with self._lock:
            if not self._loaded:
                await self._fetch()

    def _may_fetch(self) -> bool:
        fetched_at = self._fetched_at
        interval = (self.min_refetch_seconds if self._loaded
                    else min(self.min_refetch_seconds, UNLOADED_RETRY_SECONDS))
        return fetched_at is None or self.clock() - fetched_at >= interval

    async def _fetch(self) -> None:
        self._fetched_at = self.clock()
        self.fetches += 1
        try:
            response = await self.http.get(self.url)
            response.raise_for_status()
            key_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as exc:
            log.warning("cannot fetch the signing keys", extra={"url": self.url, "error": str(exc)})
            if not self._loaded:
                raise KeysUnavailable(str(exc)) from exc
            return
        self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
        self._loaded = True
        log.info("signing keys fetched", extra={"url": self.url, "kids": sorted(self._keys)})


class TokenVerifier:
    """Checks signature (RS256 only), issuer, expiry, `token_use` and the app client."""

    def __init__(self, keys: JwksKeys, *, issuer: str, client_id: str, leeway: float = 30):
        self.keys = keys
        self.issuer = issuer
        self.client_id = client_id
        self.leeway = leeway

    async def access_claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token of our app client; InvalidToken otherwise."""
        claims = await self._decode(token, audience=None)
        if claims.get("token_use") != "access":
            raise InvalidToken("not an access token")
        if claims.get("client_id") != self.client_id:
            raise InvalidToken("issued to another app client")
        if not isinstance(claims.get("jti"), str):
            raise InvalidToken("no token id")
        return claims

    async def id_claims(self, token: str) -> dict[str, Any]:
        """The claims of a valid id token issued to our app client (for profile fields)."""
        claims = await self._decode(token, audience=self.client_id)
        if claims.get("token_use") != "id":
            raise InvalidToken("not an id token")
        return claims

    async def _decode(self, token: str, audience: str | None) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"malformed: {exc}") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} refused")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("no key id")
        key = await self.keys.get(kid)
        if key is None:
            raise InvalidToken(f"unknown key id {kid!r}")
        try:
            return jwt.decode(
                token,
                key.key,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                audience=audience,
                leeway=self.leeway,
                options={
                    "require": ["exp", "iat", "iss", "sub", "token_use"],
                    "verify_aud": audience is not None,
                },
            )
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(str(exc)) from None
