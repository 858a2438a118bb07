"""The HMAC-signed request authenticator (satisfies `core.auth.ServiceAuthenticator`)."""

from __future__ import annotations

import fnmatch
import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from core.auth import AuthenticationFailed, ServicePrincipal
from core.hosts import ExpectedHosts
from core.replay import ReplayGuard
from plugins.internal_token.signing import parse_header, signature, string_to_sign


class HmacTokenAuthenticator:
    name = "hmac_token"
    challenge = "ITUBE-HMAC-SHA256"
    security_scheme: dict[str, Any] = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "ITUBE-HMAC-SHA256 KeyId=<id>, Timestamp=<unix>, Signature=<hex>: "
        "HMAC-SHA256 over the method, host, raw path, raw query and body hash.",
    }

    def __init__(
        self,
        *,
        keys: dict[str, str],
        allowed: Sequence[str],
        expected_hosts: ExpectedHosts,
        max_skew: int,
        replay: ReplayGuard,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.allowed = list(allowed)
        self.expected_hosts = expected_hosts
        self.max_skew = max_skew
        self.replay = replay
        self.clock = clock

    async def authenticate(self, request: Any, body: bytes) -> ServicePrincipal | None:
        scope = request.scope
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        try:
            auth = parse_header(headers.get("authorization"))
        except ValueError:
            raise AuthenticationFailed("malformed ITUBE-HMAC-SHA256 Authorization header") from None
        if auth is None:
            return None
        if not self.expected_hosts.allows(headers.get("host")):
            raise AuthenticationFailed("request is for another host")
        secret = self.keys.get(auth.key_id)
        if not secret:
            raise AuthenticationFailed("unknown key")
        now = self.clock()
        if auth.timestamp < now - self.max_skew:
            raise AuthenticationFailed("request expired")
        if auth.timestamp > now + self.max_skew:
            raise AuthenticationFailed("request date is in the future")
        raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
        text = string_to_sign(
            timestamp=auth.timestamp,
            method=scope["method"],
            host=headers.get("host", ""),
            raw_path=_utf8(raw_path),
            raw_query=_utf8(scope.get("query_string", b"")),
            body=body,
        )
        if not hmac.compare_digest(signature(secret, text), auth.signature):
            raise AuthenticationFailed("signature mismatch")
        await self.replay.check(scope["method"], auth.signature,
                                auth.timestamp + self.max_skew - now)
        if not any(fnmatch.fnmatchcase(auth.key_id, pattern) for pattern in self.allowed):
            raise AuthenticationFailed("principal not allowed", status=403)
        return ServicePrincipal(id=auth.key_id, method="hmac")


def _utf8(raw: bytes) -> str:
    # Strict: two byte strings must never read as one text a signature was made over.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationFailed("the request target is not valid UTF-8") from None
