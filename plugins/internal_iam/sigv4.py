"""AWS Signature Version 4 verification of a request exactly as it was received.

The canonical request is rebuilt from the received method, Host header, raw path, raw
query string, the headers the client says it signed (with the values we received) and
the body, exactly as botocore's `SigV4Auth` would build it; the signature is recomputed
with the day's signing key (cached per secret and scope) and compared in constant time.
The query is tried as sent and, when different, as AWS canonicalises it (see
`aws_canonical_query`). Nothing here imports a web framework: `ReceivedRequest` is built by
the caller.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import hashlib
import hmac
import re
from collections.abc import Sequence
from urllib.parse import quote, unquote_to_bytes, urlsplit

import attrs
from botocore.auth import SIGNED_HEADERS_BLACKLIST
from botocore.credentials import Credentials
from botocore.utils import normalize_url_path

from core.auth import AuthenticationFailed

ALGORITHM = "AWS4-HMAC-SHA256"
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<credential>[^,\s]+)\s*,\s*"
    r"SignedHeaders=(?P<signed>[a-z0-9\-;]+)\s*,\s*Signature=(?P<signature>[0-9a-f]{64})$"
)
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")


@attrs.frozen
class ReceivedRequest:
    """What arrived: raw path and query as sent (still percent-encoded), headers as
    lower-case (name, value) pairs in arrival order, the body."""

    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """All values of a header joined by commas (as SigV4 does), None when absent."""
        values = self.header_values(name)
        return ",".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@attrs.frozen
class SigV4Authorization:
    """A parsed `Authorization: AWS4-HMAC-SHA256 ...` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str = attrs.field(repr=False)


def parse_authorization(value: str | None) -> SigV4Authorization | None:
    """None when the header is absent or of another scheme; 401 when it claims SigV4 but
    is not well formed."""
    if not value or not value.startswith(ALGORITHM):
        return None
    match = _AUTHORIZATION.match(value.strip())
    if match is None:
        raise AuthenticationFailed("malformed SigV4 Authorization header")
    parts = match["credential"].split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise AuthenticationFailed("malformed SigV4 credential scope")
    signed = tuple(match["signed"].split(";"))
    if list(signed) != sorted(set(signed)):
        raise AuthenticationFailed("SignedHeaders must be sorted and unique")
    return SigV4Authorization(
        access_key_id=parts[0],
        date=parts[1],
        region=parts[2],
        service=parts[3],
        signed_headers=signed,
        signature=match["signature"],
    )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def amz_date_epoch(amz_date: str) -> int:
    """Epoch seconds of a `YYYYMMDDTHHMMSSZ` stamp, read by position (`time.strptime` costs
    a tenth of a verification); ValueError for what `time.strptime` refuses: an impossible
    date, hour or minute (it allows seconds up to 61)."""
    if not _AMZ_DATE.match(amz_date):
        raise ValueError(f"not an X-Amz-Date: {amz_date!r}")
    day = datetime.date(int(amz_date[0:4]), int(amz_date[4:6]), int(amz_date[6:8]))
    hour, minute, second = int(amz_date[9:11]), int(amz_date[11:13]), int(amz_date[13:15])
    if hour > 23 or minute > 59 or second > 61:
        raise ValueError(f"not a time of day: {amz_date!r}")
    return calendar.timegm((day.year, day.month, day.day, hour, minute, second))


def check_freshness(amz_date: str | None, *, now: float, max_skew: int) -> int:
    """The X-Amz-Date as epoch seconds; 401 when missing, malformed or out of the window."""
    if not amz_date or not _AMZ_DATE.match(amz_date):
        raise AuthenticationFailed("missing or malformed X-Amz-Date")
    try:
        signed_at = amz_date_epoch(amz_date)
    except ValueError:
        raise AuthenticationFailed("missing or malformed X-Amz-Date") from None
    if signed_at < now - max_skew:
        raise AuthenticationFailed("request expired")
    if signed_at > now + max_skew:
        raise AuthenticationFailed("request date is in the future")
    return signed_at


def check_signed_headers(
    received: ReceivedRequest, auth: SigV4Authorization, required: Sequence[str]
) -> None:
    """Every header the signature must cover is signed, and every signed header arrived."""
    signed = set(auth.signed_headers)
    for name in required:
        if name not in signed:
            raise AuthenticationFailed(f"header {name} must be signed")
    if received.header("x-amz-security-token") is not None and (
        "x-amz-security-token" not in signed
    ):
        raise AuthenticationFailed("header x-amz-security-token must be signed")
    for name in auth.signed_headers:
        if name in SIGNED_HEADERS_BLACKLIST:
            raise AuthenticationFailed(f"header {name} cannot be signed")
        if received.header(name) is None:
            raise AuthenticationFailed(f"signed header {name} missing")


def check_scope(auth: SigV4Authorization, amz_date: str, *, region: str, service: str) -> None:
    if auth.date != amz_date[:8]:
        raise AuthenticationFailed("credential scope date does not match X-Amz-Date")
    if auth.region != region:
        raise AuthenticationFailed(f"credential scope region must be {region}")
    if auth.service != service:
        raise AuthenticationFailed(f"credential scope service must be {service}")


def check_path_normal(received: ReceivedRequest) -> None:
    """SigV4 (outside S3) signs the path with empty, `.` and `..` segments removed, so
    `/a//b` and `/a/./b` would share `/a/b`'s signature: accept normal paths only."""
    if normalize_url_path(received.raw_path) != received.raw_path:
        raise AuthenticationFailed("path must not contain empty, . or .. segments")


def check_payload_hash(received: ReceivedRequest) -> None:
    """botocore trusts X-Amz-Content-SHA256 when present: hold it to the body we got."""
    claimed = received.header("x-amz-content-sha256")
    if claimed is not None and not hmac.compare_digest(claimed, sha256_hex(received.body)):
        raise AuthenticationFailed("payload hash mismatch")


def aws_canonical_query(raw_query: str) -> str:
    """The query string as AWS canonicalises it: every name and value percent-decoded (`+`
    read as a space, as our routes read it) and encoded again with only the unreserved
    characters left as they are, the pairs sorted by name, then value. A client that sends
    `?name=é` unescaped, `%c3%a9` or `+` for a space signs this form (AWS SDKs, API Gateway,
    requests-aws4auth), not the bytes it sent."""
    pairs = []
    for part in raw_query.encode().split(b"&"):
        if part:
            name, _, value = part.partition(b"=")
            pairs.append((_aws_quote(name), _aws_quote(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _aws_quote(raw: bytes) -> str:
    return quote(unquote_to_bytes(raw.replace(b"+", b" ")), safe="-_.~")


def expected_signatures(
    received: ReceivedRequest, auth: SigV4Authorization, credentials: Credentials
) -> list[str]:
    """The signatures the holder of `credentials` may have sent for this request: over the
    query as it was sent (signers that trust the URL's encoding, botocore's among them) and,
    when that differs, over the query as AWS canonicalises it. Both forms mean the same
    query to our routes, so neither opens a request the signer did not make (raw non-ASCII
    bytes aside, which Starlette reads as Latin-1 and uvicorn refuses with a 400)."""
    queries = dict.fromkeys([received.raw_query, aws_canonical_query(received.raw_query)])
    # The pairs are sorted again: a query sent sorted and encoded is one form, not two.
    canonicals = dict.fromkeys(canonical_request(received, auth, query) for query in queries)
    timestamp = received.header("x-amz-date") or ""
    scope = f"{timestamp[0:8]}/{auth.region}/{auth.service}/aws4_request"
    key = signing_key(credentials.secret_key, timestamp[0:8], auth.region, auth.service)
    return [_hmac(key, f"{ALGORITHM}\n{timestamp}\n{scope}\n{sha256_hex(canonical.encode())}")
            .hexdigest() for canonical in canonicals]


def canonical_request(received: ReceivedRequest, auth: SigV4Authorization, query: str) -> str:
    """The canonical request botocore's `SigV4Auth` builds for this request with `query`,
    byte for byte (tests/internal_auth/test_canonical_request.py holds the two equal): the
    URL it would read, split the same way; the signed headers with their values trimmed."""
    host = received.header("host") or ""
    url = urlsplit(f"https://{host}{received.raw_path}" + (f"?{query}" if query else ""))
    headers = _signed_header_values(received, auth)
    if "host" not in headers:
        raise AuthenticationFailed("header host must be signed")
    payload = headers.get("x-amz-content-sha256")
    return "\n".join([
        received.method.upper(),
        quote(normalize_url_path(url.path), safe="/~"),
        _sorted_query(url.query),
        "".join(f"{name}:{_trimmed(values)}\n" for name, values in sorted(headers.items())),
        ";".join(sorted(headers)),
        payload[0] if payload else sha256_hex(received.body),
    ])


def _signed_header_values(
    received: ReceivedRequest, auth: SigV4Authorization
) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {
        name: [] for name in auth.signed_headers if name not in SIGNED_HEADERS_BLACKLIST
    }
    for name, value in received.headers:
        if name in values:
            values[name].append(value)
    return {name: found for name, found in values.items() if found}


def _trimmed(values: list[str]) -> str:
    return ",".join(" ".join(value.split()) for value in values)


def _sorted_query(query: str) -> str:
    if not query:
        return ""
    pairs = [pair.partition("=") for pair in query.split("&")]
    return "&".join(f"{name}={value}" for name, value in sorted((n, v) for n, _, v in pairs))


@functools.lru_cache(maxsize=1024)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The day's key for one scope: four HMACs a client's every request in that day shares."""
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = _hmac(key, part).digest()
    return key


def _hmac(key: bytes, message: str) -> hmac.HMAC:
    return hmac.new(key, message.encode(), hashlib.sha256)


def verify_signature(
    received: ReceivedRequest, auth: SigV4Authorization, credentials: Credentials
) -> None:
    presented = auth.signature.encode()
    matches = [hmac.compare_digest(expected.encode(), presented)
               for expected in expected_signatures(received, auth, credentials)]
    if not any(matches):
        raise AuthenticationFailed("signature mismatch")


def verify(
    received: ReceivedRequest,
    auth: SigV4Authorization,
    credentials: Credentials,
    *,
    region: str,
    service: str,
    now: float,
    max_skew: int,
    required_headers: Sequence[str] = ("host", "x-amz-date"),
) -> int:
    """Every SigV4 check, cheapest first; returns the signing time (epoch seconds)."""
    amz_date = received.header("x-amz-date")
    signed_at = check_freshness(amz_date, now=now, max_skew=max_skew)
    check_signed_headers(received, auth, required_headers)
    check_scope(auth, amz_date or "", region=region, service=service)
    check_path_normal(received)
    check_payload_hash(received)
    verify_signature(received, auth, credentials)
    return signed_at
