"""Signing for services that call itube's internal routes: httpx auth classes on botocore.

Self-contained (httpx, botocore and the standard library only), so a service can copy
this module or import it without running the server::

    import boto3, httpx
    from plugins.internal_iam.client import SigV4Signer

    signer = SigV4Signer(boto3.Session().get_credentials(), region="us-east-1")
    with httpx.Client(base_url="http://127.0.0.1:8000", auth=signer) as api:
        api.patch(f"/api/v1/upload/videos/{video_id}/status", json={"status": "COMPLETED"})

`SigV4Signer` signs the request itself (static mode: the server knows the key).
`StsProofSigner` attaches a signed sts:GetCallerIdentity bound to the request (sts mode:
the server asks STS who signed it, so task-role secrets never leave the task).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Generator, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DEFAULT_SERVICE = "execute-api"
# sts mode wire format.
PROOF_HEADER = "x-itube-sts-proof"
SERVER_ID_HEADER = "x-itube-server-id"
DIGEST_HEADER = "x-itube-request-digest"
STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
STS_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# Headers signed when present, besides host and the x-amz-* ones.
_SIGNED_WHEN_PRESENT = ("content-type",)


def frozen(credentials: Any) -> Credentials:
    """Plain or refreshable botocore credentials (a task role's rotate) as of now."""
    getter = getattr(credentials, "get_frozen_credentials", None)
    if getter is None:
        return credentials
    snapshot = getter()
    return Credentials(snapshot.access_key, snapshot.secret_key, snapshot.token)


def sign_aws_request(
    aws: AWSRequest,
    credentials: Any,
    *,
    service: str,
    region: str,
    timestamp: datetime | None = None,
) -> None:
    """SigV4-sign a botocore request in place, covering every header it holds (plus
    X-Amz-Date and, for temporary credentials, X-Amz-Security-Token)."""
    creds = frozen(credentials)
    stamp = (timestamp or datetime.now(UTC)).strftime(AMZ_DATE_FORMAT)
    aws.headers["x-amz-date"] = stamp
    if creds.token:
        aws.headers["x-amz-security-token"] = creds.token
    aws.context["timestamp"] = stamp
    signer = SigV4Auth(creds, service, region)
    canonical = signer.canonical_request(aws)
    signature = signer.signature(signer.string_to_sign(aws, canonical), aws)
    signed = signer.signed_headers(signer.headers_to_sign(aws))
    aws.headers["authorization"] = (
        f"{ALGORITHM} Credential={signer.scope(aws)}, SignedHeaders={signed}, "
        f"Signature={signature}"
    )


def sign_request(
    request: httpx.Request,
    credentials: Any,
    *,
    region: str,
    service: str = DEFAULT_SERVICE,
    timestamp: datetime | None = None,
    also_sign: Iterable[str] = (),
) -> httpx.Request:
    """Add X-Amz-Date, X-Amz-Content-SHA256, X-Amz-Security-Token (temporary credentials)
    and the SigV4 Authorization header to `request`, in place. `timestamp` defaults to now.
    Signed: host, content-type when present, the x-amz-* headers and `also_sign`."""
    body = request.read()
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    names = ["host", "x-amz-content-sha256", *_SIGNED_WHEN_PRESENT, *also_sign]
    aws = AWSRequest(method=request.method, url=str(request.url), data=body)
    for name in dict.fromkeys(name.lower() for name in names):
        for value in request.headers.get_list(name):
            aws.headers[name] = value
    sign_aws_request(aws, credentials, service=service, region=region, timestamp=timestamp)
    for name in ("x-amz-date", "x-amz-security-token", "authorization"):
        if name in aws.headers:
            request.headers[name] = aws.headers[name]
    return request


class SigV4Signer(httpx.Auth):
    """httpx auth: SigV4-sign every request (service `execute-api` by default)."""

    requires_request_body = True

    def __init__(self, credentials: Any, *, region: str, service: str = DEFAULT_SERVICE) -> None:
        self.credentials = credentials
        self.region = region
        self.service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield sign_request(request, self.credentials, region=self.region, service=self.service)


def request_digest(method: str, host: str, raw_path: str, raw_query: str, body: bytes) -> str:
    """What an STS proof is bound to: the request's method, host, path, query and body."""
    parts = [method.upper(), host, raw_path, raw_query, hashlib.sha256(body).hexdigest()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def encode_proof(headers: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(headers).encode()).decode().rstrip("=")


def decode_proof(value: str) -> dict[str, str]:
    """The proof's headers (lower-case names). ValueError when it is not one."""
    padded = value + "=" * (-len(value) % 4)
    try:
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url JSON") from exc
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError("expected an object of header names to strings")
    return {key.lower(): value for key, value in data.items()}


def sts_proof(
    credentials: Any,
    *,
    digest: str,
    sts_endpoint_url: str,
    sts_region: str,
    server_id: str,
    timestamp: datetime | None = None,
) -> str:
    """A signed sts:GetCallerIdentity carrying the server id and the request digest,
    encoded for the X-Itube-STS-Proof header."""
    url = sts_endpoint_url.rstrip("/") + "/"
    aws = AWSRequest(
        method="POST",
        url=url,
        data=STS_BODY,
        headers={"content-type": STS_CONTENT_TYPE, SERVER_ID_HEADER: server_id,
                 DIGEST_HEADER: digest},
    )
    aws.headers["host"] = urlsplit(url).netloc
    sign_aws_request(aws, credentials, service="sts", region=sts_region, timestamp=timestamp)
    return encode_proof({name.lower(): value for name, value in aws.headers.items()})


def attach_sts_proof(
    request: httpx.Request,
    credentials: Any,
    *,
    sts_endpoint_url: str,
    sts_region: str,
    server_id: str,
    timestamp: datetime | None = None,
) -> httpx.Request:
    """Add X-Itube-STS-Proof, bound to this request, in place."""
    body = request.read()
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    request.headers[PROOF_HEADER] = sts_proof(
        credentials,
        digest=request_digest(request.method, request.headers["host"], path, query, body),
        sts_endpoint_url=sts_endpoint_url,
        sts_region=sts_region,
        server_id=server_id,
        timestamp=timestamp,
    )
    return request


class StsProofSigner(httpx.Auth):
    """httpx auth for sts mode: each request carries its own signed GetCallerIdentity."""

    requires_request_body = True

    def __init__(
        self,
        credentials: Any,
        *,
        sts_endpoint_url: str,
        sts_region: str,
        server_id: str = "itube",
    ) -> None:
        self.credentials = credentials
        self.sts_endpoint_url = sts_endpoint_url
        self.sts_region = sts_region
        self.server_id = server_id

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield attach_sts_proof(
            request,
            self.credentials,
            sts_endpoint_url=self.sts_endpoint_url,
            sts_region=self.sts_region,
            server_id=self.server_id,
        )
