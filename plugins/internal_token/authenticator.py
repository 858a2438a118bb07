"""The HMAC-signed request authenticator (satisfies `core.auth.ServiceAuthenticator`)."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any

from core.auth import (
    AllowList,
    AuthenticationFailed,
    ServicePrincipal,
    header_pairs,
    joined_header,
    request_target,
)
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
        self.allowed = AllowList(allowed)
        self.expected_hosts = expected_hosts
        self.max_skew = max_skew
        self.replay = replay
        self.clock = clock

    async def authenticate(self, request: Any, body: bytes) -> ServicePrincipal | None:
        scope = request.scope
        headers = header_pairs(scope)
        try:
            auth = parse_header(joined_header(headers, "authorization"))
        except ValueError:
            raise AuthenticationFailed("malformed ITUBE-HMAC-SHA256 Authorization header") from None
        if auth is None:
            return None
        host = joined_header(headers, "host")
        if not self.expected_hosts.allows(host):
            raise AuthenticationFailed("request is for another host")
        secret = self.keys.get(auth.key_id)
        if not secret:
            raise AuthenticationFailed("unknown key")
        now = self.clock()
        if auth.timestamp < now - self.max_skew:
            raise AuthenticationFailed("request expired")
        if auth.timestamp > now + self.max_skew:
            raise AuthenticationFailed("request date is in the future")
        raw_path, raw_query = request_target(scope)
        text = string_to_sign(
            timestamp=auth.timestamp,
            method=scope["method"],
            host=host or "",
            raw_path=raw_path,
            raw_query=raw_query,
            body=body,
        )
        if not hmac.compare_digest(signature(secret, text), auth.signature):
            raise AuthenticationFailed("signature mismatch")
        await self.replay.check(scope["method"], auth.signature,
                                auth.timestamp + self.max_skew - now)
        self.allowed.check(auth.key_id)
        return ServicePrincipal(id=auth.key_id, method="hmac")

