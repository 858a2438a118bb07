"""AWS Signature Version 4 verification of a request exactly as it was received.

The canonical request is rebuilt from the received method, Host header, raw path, raw
query string, the headers the client says it signed (with the values we received) and
the body, exactly as botocore's `SigV4Auth` would build it; the signature is recomputed
with the day's signing key (cached per secret and scope) and compared in constant time.
The query is tried as sent and, when that does not match and the forms differ, as AWS
canonicalises it (see `aws_canonical_query`). Nothing here imports a web framework:
`ReceivedRequest` is built by the caller.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import re
from collections.abc import Iterator, Sequence
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
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_UNSIGNABLE = frozenset(SIGNED_HEADERS_BLACKLIST)
# Characters that make urlsplit read a URL's path or query other than the parts it was
# built from (or refuse the URL); without them the parts are taken as they are.
_SPLITS_PATH = re.compile(r"[?#\t\r\n]")
_SPLITS_QUERY = re.compile(r"[#\t\r\n]")
_SPLITS_HOST = re.compile(r"[/?#\[\]\t\r\n]|[^\x00-\x7f]")


@attrs.frozen
class ReceivedRequest:
    """What arrived: raw path and query as sent (still percent-encoded), headers as
    lower-case (name, value) pairs in arrival order, the body."""

    method: str
    raw_path: str
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    # Every value of each header in arrival order, indexed once: a verification looks
    # headers up a dozen times.
    values_by_name: dict[str, list[str]] = attrs.field(init=False, eq=False, repr=False)

    @values_by_name.default
    def _index_headers(self) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for name, value in self.headers:
            if name in values:
                values[name].append(value)
            else:
                values[name] = [value]
        return values

    def header(self, name: str) -> str | None:
        """All values of a header joined by commas (as SigV4 does), None when absent."""
        values = self.values_by_name.get(name)
        return None if values is None else ",".join(values)

    def header_values(self, name: str) -> list[str]:
        return list(self.values_by_name.get(name, ()))

    def has_header(self, name: str) -> bool:
        return name in self.values_by_name


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
    credential, signed_names, signature = match.group("credential", "signed", "signature")
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts):
        raise AuthenticationFailed("malformed SigV4 credential scope")
    return SigV4Authorization(
        access_key_id=parts[0],
        date=parts[1],
        region=parts[2],
        service=parts[3],
        signed_headers=_signed_header_names(signed_names),
        signature=signature,
    )


@functools.lru_cache(maxsize=64)
def _signed_header_names(value: str) -> tuple[str, ...]:
    """SignedHeaders as a tuple (a client sends the same few lists again and again)."""
    names = tuple(value.split(";"))
    if list(names) != sorted(set(names)):
        raise AuthenticationFailed("SignedHeaders must be sorted and unique")
    return names


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def amz_date_epoch(amz_date: str) -> int:
    """Epoch seconds of a `YYYYMMDDTHHMMSSZ` stamp, read by position (`time.strptime` costs
    a tenth of a verification); ValueError for what `time.strptime` refuses: an impossible
    date, hour or minute (it allows seconds up to 61)."""
    if _AMZ_DATE.fullmatch(amz_date) is None:
        raise ValueError(f"not an X-Amz-Date: {amz_date!r}")
    time_of_day = int(amz_date[9:15])
    hour, minute, second = time_of_day // 10000, time_of_day // 100 % 100, time_of_day % 100
    if hour > 23 or minute > 59 or second > 61:
        raise ValueError(f"not a time of day: {amz_date!r}")
    return _midnight_epoch(amz_date[0:8]) + hour * 3600 + minute * 60 + second


@functools.lru_cache(maxsize=64)
def _midnight_epoch(date: str) -> int:
    """Epoch seconds of a `YYYYMMDD` day's start (every request of a day asks again)."""
    day = datetime.date(int(date[0:4]), int(date[4:6]), int(date[6:8]))
    return (day.toordinal() - _EPOCH_ORDINAL) * 86400


def check_freshness(amz_date: str | None, *, now: float, max_skew: int) -> int:
    """The X-Amz-Date as epoch seconds; 401 when missing, malformed or out of the window."""
    try:
        signed_at = amz_date_epoch(amz_date or "")
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
    signed = auth.signed_headers
    for name in required:
        if name not in signed:
            raise AuthenticationFailed(f"header {name} must be signed")
    if received.has_header("x-amz-security-token") and "x-amz-security-token" not in signed:
        raise AuthenticationFailed("header x-amz-security-token must be signed")
    for name in signed:
        if name in _UNSIGNABLE:
            raise AuthenticationFailed(f"header {name} cannot be signed")
        if not received.has_header(name):
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
    return list(_signatures(received, auth, credentials))


def _signatures(
    received: ReceivedRequest, auth: SigV4Authorization, credentials: Credentials
) -> Iterator[str]:
    """`expected_signatures` one at a time, the query as sent first: a request verified
    by the first never pays for the second."""
    timestamp = received.header("x-amz-date") or ""
    date = timestamp[0:8]
    key = signing_key(credentials.secret_key, date, auth.region, auth.service)
    head = f"{ALGORITHM}\n{timestamp}\n{date}/{auth.region}/{auth.service}/aws4_request\n"
    as_sent = canonical_request(received, auth, received.raw_query)
    yield _signature(key, head, as_sent)
    aws_query = aws_canonical_query(received.raw_query)
    if aws_query != received.raw_query:
        # The pairs are sorted again: a query sent sorted and encoded is one form, not two.
        canonical = canonical_request(received, auth, aws_query)
        if canonical != as_sent:
            yield _signature(key, head, canonical)


def _signature(key: bytes, head: str, canonical: str) -> str:
    string_to_sign = head + sha256_hex(canonical.encode())
    return hmac.digest(key, string_to_sign.encode(), "sha256").hex()


def canonical_request(received: ReceivedRequest, auth: SigV4Authorization, query: str) -> str:
    """The canonical request botocore's `SigV4Auth` builds for this request with `query`,
    byte for byte (tests/internal_auth/test_canonical_request.py holds the two equal): the
    URL it would read, split the same way; the signed headers with their values trimmed."""
    headers = _signed_header_values(received, auth)
    if "host" not in headers:
        raise AuthenticationFailed("header host must be signed")
    path, query = _url_path_and_query(received.header("host") or "", received.raw_path, query)
    payload = headers.get("x-amz-content-sha256")
    return "\n".join([
        received.method.upper(),
        quote(normalize_url_path(path), safe="/~"),
        _sorted_query(query),
        "".join([f"{name}:{_trimmed(values)}\n" for name, values in sorted(headers.items())]),
        ";".join(sorted(headers)),
        payload[0] if payload else sha256_hex(received.body),
    ])


def _url_path_and_query(host: str, raw_path: str, query: str) -> tuple[str, str]:
    """The path and query botocore reads back from the URL `https://{host}{raw_path}?{query}`
    (urlsplit's lru_cache misses on every new path, so it is asked only about odd ones)."""
    if (raw_path.startswith("/") and not _SPLITS_PATH.search(raw_path)
            and not _SPLITS_QUERY.search(query) and not _SPLITS_HOST.search(host)):
        return raw_path, query
    url = urlsplit(f"https://{host}{raw_path}" + (f"?{query}" if query else ""))
    return url.path, url.query


def _signed_header_values(
    received: ReceivedRequest, auth: SigV4Authorization
) -> dict[str, list[str]]:
    values = received.values_by_name
    return {name: values[name] for name in auth.signed_headers
            if name in values and name not in _UNSIGNABLE}


def _trimmed(values: list[str]) -> str:
    return ",".join([" ".join(value.split()) for value in values])


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
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def verify_signature(
    received: ReceivedRequest, auth: SigV4Authorization, credentials: Credentials
) -> None:
    presented = auth.signature.encode()
    # Which form matched is no secret, so a match ends the search; each comparison is
    # constant-time.
    for expected in _signatures(received, auth, credentials):
        if hmac.compare_digest(expected.encode(), presented):
            return
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
