"""The service authenticators of the three modes (objects satisfying
`core.auth.ServiceAuthenticator`). They read the ASGI scope only, no web framework."""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import httpx
from botocore.credentials import Credentials

from core.auth import (
    AllowList,
    AuthenticationFailed,
    ServicePrincipal,
    header_pairs,
    request_target,
)
from core.context import AppContext
from core.hosts import ExpectedHosts
from core.replay import ReplayGuard
from plugins.internal_iam.client import PROOF_HEADER
from plugins.internal_iam.config import InternalIamSettings, StaticKey
from plugins.internal_iam.gateway import GatewayVerifier
from plugins.internal_iam.sigv4 import ReceivedRequest, parse_authorization, verify
from plugins.internal_iam.sts import StsVerifier

Clock = Callable[[], float]


def received_request(scope: dict[str, Any], body: bytes) -> ReceivedRequest:
    """The request as it arrived: raw (still percent-encoded) path and query."""
    raw_path, raw_query = request_target(scope)
    return ReceivedRequest(
        method=scope["method"],
        raw_path=raw_path,
        raw_query=raw_query,
        headers=header_pairs(scope),
        body=body,
    )


def check_host(received: ReceivedRequest, expected: ExpectedHosts) -> None:
    """The request names one of our hosts (a signature for another deployment is refused)."""
    if not expected.allows(received.header("host")):
        raise AuthenticationFailed("request is for another host")


class StaticSigV4Authenticator:
    """SigV4 with key pairs we hold (IAM users, or fixed temporary credentials)."""

    name = "aws_sigv4"
    challenge = "AWS4-HMAC-SHA256"
    security_scheme: dict[str, Any] = {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "AWS Signature Version 4 (AWS4-HMAC-SHA256), service execute-api; "
        "host, x-amz-date and x-amz-content-sha256 signed.",
    }

    def __init__(
        self,
        *,
        keys: dict[str, StaticKey],
        allowed: Sequence[str],
        expected_hosts: ExpectedHosts,
        region: str,
        service: str,
        max_skew: int,
        replay: ReplayGuard,
        clock: Clock = time.time,
    ) -> None:
        self.keys = keys
        self.credentials = {
            key_id: Credentials(key_id, key.secret_access_key, key.session_token or None)
            for key_id, key in keys.items()
        }
        self.allowed = AllowList(allowed)
        self.expected_hosts = expected_hosts
        self.region = region
        self.service = service
        self.max_skew = max_skew
        self.replay = replay
        self.clock = clock

    async def authenticate(self, request: Any, body: bytes) -> ServicePrincipal | None:
        received = received_request(request.scope, body)
        auth = parse_authorization(received.header("authorization"))
        if auth is None:
            return None
        check_host(received, self.expected_hosts)
        key = self.keys.get(auth.access_key_id)
        if key is None:
            raise AuthenticationFailed("unknown access key")
        self._check_session_token(received, key)
        now = self.clock()
        signed_at = verify(
            received,
            auth,
            self.credentials[auth.access_key_id],
            region=self.region,
            service=self.service,
            now=now,
            max_skew=self.max_skew,
        )
        await self.replay.check(received.method, auth.signature, signed_at + self.max_skew - now)
        principal = key.principal or auth.access_key_id
        self.allowed.check(principal)
        return ServicePrincipal(id=principal, method="sigv4")

    @staticmethod
    def _check_session_token(received: ReceivedRequest, key: StaticKey) -> None:
        presented = received.header("x-amz-security-token")
        if not key.session_token and presented is None:
            return
        if presented is None or not hmac.compare_digest(presented.encode(),
                                                        key.session_token.encode()):
            raise AuthenticationFailed("session token mismatch")


class StsAuthenticator:
    """The caller's identity as STS states it, from a proof bound to this request."""

    name = "aws_sts"
    challenge = "ITUBE-STS-PROOF"
    security_scheme: dict[str, Any] = {
        "type": "apiKey",
        "in": "header",
        "name": "X-Itube-STS-Proof",
        "description": "base64url JSON of the headers of a SigV4-signed sts:GetCallerIdentity "
        "that signs X-Itube-Server-ID and X-Itube-Request-Digest.",
    }

    def __init__(
        self,
        *,
        verifier: StsVerifier,
        allowed: Sequence[str],
        expected_hosts: ExpectedHosts,
        replay: ReplayGuard,
        clock: Clock = time.time,
    ) -> None:
        self.verifier = verifier
        self.allowed = AllowList(allowed)
        self.expected_hosts = expected_hosts
        self.replay = replay
        self.clock = clock

    async def authenticate(self, request: Any, body: bytes) -> ServicePrincipal | None:
        received = received_request(request.scope, body)
        encoded = received.header(PROOF_HEADER)
        if encoded is None:
            return None
        check_host(received, self.expected_hosts)
        now = self.clock()
        proof = self.verifier.check(received, encoded, now=now)
        arn = await self.verifier.caller_arn(proof, now=now)
        ttl = proof.signed_at + self.verifier.max_skew - now
        await self.replay.check(received.method, proof.auth.signature, ttl)
        self.allowed.check(arn)
        return ServicePrincipal(id=arn, method="sts")


class GatewayAuthenticator:
    """The identity API Gateway asserts, trusted only from the configured proxy."""

    name = "aws_gateway"
    # Callers sign for API Gateway, which verifies them and forwards the identity.
    challenge = "AWS4-HMAC-SHA256"

    def __init__(self, *, verifier: GatewayVerifier, allowed: Sequence[str]) -> None:
        self.verifier = verifier
        self.allowed = AllowList(allowed)
        self.security_scheme: dict[str, Any] = {
            "type": "apiKey",
            "in": "header",
            "name": verifier.identity_header,
            "description": "Set by the trusted API Gateway (IAM authorization) only.",
        }

    async def authenticate(self, request: Any, body: bytes) -> ServicePrincipal | None:
        received = received_request(request.scope, body)
        client = request.scope.get("client")
        identity = self.verifier.asserted_identity(received, client[0] if client else None)
        if identity is None:
            return None
        self.allowed.check(identity)
        return ServicePrincipal(id=identity, method="gateway")


@attrs.define
class IamState:
    """What the plugin keeps per app in `ctx.state["internal_iam"]`."""

    authenticator: StaticSigV4Authenticator | StsAuthenticator | GatewayAuthenticator
    http: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self.http is not None:
            await self.http.aclose()


def build_state(ctx: AppContext, settings: InternalIamSettings) -> IamState:
    """The authenticator of the configured mode, wired to the app's cache and AWS setup."""
    allowed = settings.allowed_principals
    if settings.mode == "gateway":
        gateway = GatewayVerifier(settings.gateway)
        return IamState(GatewayAuthenticator(verifier=gateway, allowed=allowed))
    replay = ReplayGuard(ctx.cache, namespace="internal_iam")
    expected_hosts = ExpectedHosts.parse(settings.expected_hosts)
    region = settings.region or (ctx.aws.region if ctx.aws else "") or "us-east-1"
    if settings.mode == "static":
        return IamState(StaticSigV4Authenticator(
            keys=settings.keys, allowed=allowed, expected_hosts=expected_hosts, region=region,
            service=settings.service,
            max_skew=settings.max_clock_skew_seconds, replay=replay,
        ))
    http = httpx.AsyncClient(timeout=settings.sts.timeout_seconds, follow_redirects=False)
    verifier = StsVerifier(
        endpoint_url=sts_endpoint(ctx, settings, region),
        server_id=settings.sts.server_id,
        http=http,
        cache=ctx.cache,
        identity_cache_seconds=settings.sts.identity_cache_seconds,
        max_skew=settings.max_clock_skew_seconds,
    )
    authenticator = StsAuthenticator(verifier=verifier, allowed=allowed,
                                     expected_hosts=expected_hosts, replay=replay)
    return IamState(authenticator, http)


def sts_endpoint(ctx: AppContext, settings: InternalIamSettings, region: str) -> str:
    """Ours, never the caller's: settings, else what the AWS environment provisioned, else
    the regional AWS endpoint."""
    provisioned = ctx.aws.resource("sts_endpoint_url") if ctx.aws else ""
    return settings.sts.endpoint_url or provisioned or f"https://sts.{region}.amazonaws.com"
