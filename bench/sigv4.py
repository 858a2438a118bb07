"""SigV4 for the signed by-key row: botocore signs the benchmark's requests, and a lean
check (hashlib and hmac only: no scope checks beyond the date, no host list, no replay
guard) is what the baseline verifies them with."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})"
)
MAX_SKEW = dt.timedelta(minutes=5)


def signed_headers(url: str, key_id: str, secret: str, region: str,
                   service: str = "execute-api") -> dict[str, str]:
    """The headers that sign `GET url` now: X-Amz-Date and Authorization."""
    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(key_id, secret), service, region).add_auth(request)
    return {"X-Amz-Date": request.headers["X-Amz-Date"],
            "Authorization": request.headers["Authorization"]}


def _canonical_query(query: str) -> str:
    pairs = sorted(parse_qsl(query, keep_blank_values=True))
    return "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)


def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def verify(method: str, path: str, query: str, headers: Mapping[str, str],
           secrets: Mapping[str, str]) -> str | None:
    """The access key id that signed this body-less request, or None."""
    match = AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if match is None:
        return None
    key_id, date, region, service, signed, signature = match.groups()
    secret, amz_date = secrets.get(key_id), headers.get("x-amz-date", "")
    names = signed.split(";")
    if secret is None or not amz_date.startswith(date) or "host" not in names:
        return None
    signed_at = dt.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    if abs(dt.datetime.now(dt.UTC) - signed_at) > MAX_SKEW:
        return None
    canonical = "\n".join([
        method, quote(path, safe="/~"), _canonical_query(query),
        "".join(f"{name}:{headers.get(name, '').strip()}\n" for name in names),
        signed, EMPTY_SHA256,
    ])
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    expected = hmac.new(_signing_key(secret, date, region, service), to_sign.encode(),
                        hashlib.sha256).hexdigest()
    return key_id if hmac.compare_digest(expected, signature) else None
