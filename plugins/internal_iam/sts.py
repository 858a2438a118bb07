"""sts mode: the caller's signed sts:GetCallerIdentity, replayed to OUR STS endpoint.

The proof (X-Itube-STS-Proof) holds the headers of a GetCallerIdentity the caller signed
with its own credentials, including our server id and a digest of the API request it
accompanies. We check what we can locally (date window, signed headers, server id,
digest, endpoint host), then send exactly that signed request, with a body we fix
ourselves, to the STS endpoint from our settings. STS answers with the caller's ARN only
if the signature is valid, so secrets (an ECS task role's) never reach us.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlsplit

import attrs
import httpx

from core.auth import AuthenticationFailed
from core.cache import Cache, cache_get, cache_set
from core.errors import ServiceUnavailable
from plugins.internal_iam.client import (
    DIGEST_HEADER,
    SERVER_ID_HEADER,
    STS_BODY,
    decode_proof,
    request_digest,
)
from plugins.internal_iam.sigv4 import (
    ReceivedRequest,
    SigV4Authorization,
    check_freshness,
    parse_authorization,
)

MAX_PROOF_CHARS = 8192
REQUIRED_SIGNED = ("host", "x-amz-date", SERVER_ID_HEADER, DIGEST_HEADER)
log = logging.getLogger("itube.internal_iam")


@attrs.frozen
class StsProof:
    """A proof that passed the local checks, with the digest of the request it came with."""

    headers: dict[str, str] = attrs.field(repr=False)
    auth: SigV4Authorization
    signed_at: int
    request_digest: str


class StsVerifier:
    def __init__(
        self,
        *,
        endpoint_url: str,
        server_id: str,
        http: httpx.AsyncClient,
        cache: Cache,
        identity_cache_seconds: int,
        max_skew: int,
    ) -> None:
        self.endpoint_url = endpoint_url.rstrip("/") + "/"
        self.endpoint_host = urlsplit(self.endpoint_url).netloc
        self.server_id = server_id
        self.http = http
        self.cache = cache
        self.identity_cache_seconds = identity_cache_seconds
        self.max_skew = max_skew

    def check(self, received: ReceivedRequest, encoded: str, *, now: float) -> StsProof:
        """Every local check of the proof; STS itself checks the signature."""
        headers = _decode(encoded)
        auth = parse_authorization(headers.get("authorization"))
        if auth is None:
            raise AuthenticationFailed("STS proof has no SigV4 Authorization")
        signed_at = check_freshness(headers.get("x-amz-date"), now=now, max_skew=self.max_skew)
        self._check_signed(headers, auth)
        if auth.service != "sts" or auth.date != headers["x-amz-date"][:8]:
            raise AuthenticationFailed("STS proof credential scope is not sts for its date")
        if headers["host"] != self.endpoint_host:
            raise AuthenticationFailed("STS proof was signed for another STS endpoint")
        if not hmac.compare_digest(headers[SERVER_ID_HEADER], self.server_id):
            raise AuthenticationFailed("STS proof was made for another server")
        digest = request_digest(received.method, received.header("host") or "",
                                received.raw_path, received.raw_query, received.body)
        if not hmac.compare_digest(headers[DIGEST_HEADER], digest):
            raise AuthenticationFailed("signature mismatch: STS proof does not cover this request")
        return StsProof(headers=headers, auth=auth, signed_at=signed_at, request_digest=digest)

    @staticmethod
    def _check_signed(headers: dict[str, str], auth: SigV4Authorization) -> None:
        signed = set(auth.signed_headers)
        required = [*REQUIRED_SIGNED]
        if "x-amz-security-token" in headers:
            required.append("x-amz-security-token")
        for name in required:
            if name not in signed:
                raise AuthenticationFailed(f"STS proof must sign header {name}")
        for name in signed:
            if name not in headers:
                raise AuthenticationFailed(f"STS proof signed header {name} missing")

    async def caller_arn(self, proof: StsProof, *, now: float) -> str:
        """The ARN STS names for the proof's signer (briefly cached for that exact proof
        and request)."""
        key = self.identity_key(proof)
        cached = await cache_get(self.cache, key)
        if cached is not None:
            return cached.decode()
        arn = await self._ask_sts(proof)
        ttl = min(self.identity_cache_seconds, proof.signed_at + self.max_skew - now)
        if ttl > 0:
            await cache_set(self.cache, key, arn.encode(), ttl)
        return arn

    def identity_key(self, proof: StsProof) -> str:
        """The cache key of a verified identity: every header of the proof (names
        lower-case, sorted), the request digest we computed and our STS endpoint. A cached
        ARN is STS's answer about one exact proof for one exact request; a proof that
        differs in anything (its digest above all, with the same `Signature=`) is asked
        about again, and STS refuses it."""
        canonical = json.dumps(
            [self.endpoint_url, proof.request_digest, sorted(proof.headers.items())],
            separators=(",", ":"),
        )
        return "internal_iam:sts:" + hashlib.sha256(canonical.encode()).hexdigest()

    async def _ask_sts(self, proof: StsProof) -> str:
        forwarded = {name: proof.headers[name] for name in proof.auth.signed_headers}
        forwarded["authorization"] = proof.headers["authorization"]
        try:
            response = await self.http.post(self.endpoint_url, content=STS_BODY,
                                            headers=forwarded)
        except httpx.HTTPError as exc:
            log.warning("STS unreachable", extra={"error": type(exc).__name__})
            raise ServiceUnavailable("the identity service (STS) did not answer") from None
        if response.status_code >= 500:
            raise ServiceUnavailable("the identity service (STS) failed")
        if response.status_code != 200:
            code = _find(response.content, "Code") or str(response.status_code)
            raise AuthenticationFailed(f"STS refused the proof ({code})")
        arn = _find(response.content, "Arn")
        if not arn:
            raise ServiceUnavailable("the identity service (STS) answered without an ARN")
        return arn


def _decode(encoded: str) -> dict[str, str]:
    if len(encoded) > MAX_PROOF_CHARS:
        raise AuthenticationFailed("STS proof too large")
    try:
        return decode_proof(encoded)
    except ValueError:
        raise AuthenticationFailed("malformed STS proof") from None


def _find(document: bytes, tag: str) -> str | None:
    """The text of the first `tag` element in an STS XML answer (namespace ignored)."""
    try:
        root = ElementTree.fromstring(document)
    except ElementTree.ParseError:
        return None
    element = root.find(f".//{{*}}{tag}")
    if element is None:
        element = root.find(f".//{tag}")
    text = element.text if element is not None else None
    return text.strip() if text else None
