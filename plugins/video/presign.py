"""S3 presigned URLs (SigV4 query-string auth) in a few microseconds instead of ~0.4 ms.

botocore's `generate_presigned_url` rebuilds a request model, runs endpoint rules and
event handlers, and derives the signing key for every URL. Here a bucket's URL base
(scheme, host, path prefix, signing region) is taken once from a URL botocore itself
generated for that bucket, so path-style (an `endpoint_url` such as the moto emulator)
and virtual-host style (real AWS) come out exactly as the configured client makes them;
the signing key is derived once per (secret key, date, region); each URL then costs two
SHA-256 hashes and one HMAC, the HMAC's key and the string to sign's fixed head absorbed
once. The parts of a multipart upload share one request made per upload and second, with
holes for the part number, length and checksum: a part URL hashes only what follows the
part number (~2 µs). Media GETs are signed once per window (`window_signer`): a
key asked for again in the same window gets the URL already made, from a dict.
`matches_botocore` checks a bucket byte for byte against botocore before the fast path is
trusted with it.

See "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)".
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import attrs

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
PROBE_KEY = "probe"
DEFAULT_PORTS = {"http": 80, "https": 443}
_NOTHING_TO_ENCODE = re.compile(r"[A-Za-z0-9/_.~-]*")
# Signers kept for the current second (each kind of URL a second signs: a few).
SIGNERS_KEPT = 64
# GET URLs a bucket's window keeps; when full they are dropped and signed again as asked.
URLS_KEPT_PER_WINDOW = 10_000
# botocore drops this Content-Type from presigned requests (it is its own default).
BOTOCORE_DEFAULT_CONTENT_TYPE = "application/x-www-form-urlencoded; charset=utf-8"
# The header naming a PUT's additional checksum algorithm (botocore signs it beside the
# checksum; S3 records the checksum with the object, and moto only when it is sent).
SDK_CHECKSUM_ALGORITHM = "x-amz-sdk-checksum-algorithm"

# Where a part signer's request holds the part number until a URL fills it in: a value no
# query ever carries (encoded "%00", so it cannot occur anywhere else in the request).
_SLOT = "\x00"
# Where an upload's part request holds each part's length and checksum until it is bound
# to them: control characters, which no header value or encoded query can hold.
_LENGTH_SLOT = "\x01"
_CHECKSUM_SLOT = "\x02"
# Part requests kept for the current second (one per upload and kind of part).
PART_REQUESTS_KEPT = 64
SHA256_BLOCK = 64

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@attrs.frozen
class Checksum:
    """The digest a PUT's body must have: `algorithm` as S3 names it ("SHA256",
    "CRC32C"), `value` the digest in base64. Signed into an upload URL, S3 refuses any other
    body."""

    algorithm: str
    value: str

    @property
    def header(self) -> str:
        return f"x-amz-checksum-{self.algorithm.lower()}"

    def headers(self) -> dict[str, str]:
        """The headers a client sends with the PUT (lower case, as signed)."""
        return {self.header: self.value, SDK_CHECKSUM_ALGORITHM: self.algorithm}


@attrs.frozen
class BucketEndpoint:
    """Where one bucket's objects live, as the configured botocore client addresses them."""

    origin: str  # "http://127.0.0.1:4566" or "https://bucket.s3.amazonaws.com"
    path_prefix: str  # "/bucket" (path-style) or "" (virtual-host style)
    host: str  # the signed Host header: lower case, default port dropped
    region: str  # the signing region botocore put in the credential scope


def bucket_endpoint(s3: Any, bucket: str) -> BucketEndpoint:
    """Read a bucket's URL base and signing region off one botocore-presigned URL."""
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": PROBE_KEY}, ExpiresIn=60
    )
    parts = urlsplit(url)
    suffix = "/" + PROBE_KEY
    if not parts.path.endswith(suffix):
        raise ValueError(f"unexpected presigned URL shape for bucket {bucket!r}")
    scope = parse_qs(parts.query)["X-Amz-Credential"][0].split("/")
    return BucketEndpoint(
        origin=f"{parts.scheme}://{parts.netloc}",
        path_prefix=parts.path[: -len(suffix)],
        host=_host_header(parts.scheme, parts.hostname or "", parts.port),
        region=scope[2],
    )


def _host_header(scheme: str, hostname: str, port: int | None) -> str:
    host = f"[{hostname}]" if ":" in hostname else hostname
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return host


def encode_key(key: str) -> str:
    """S3's URI encoding of an object key: every byte but unreserved characters and '/'."""
    if _NOTHING_TO_ENCODE.fullmatch(key):  # the keys itube makes: ids, '/', '.'
        return key
    return quote(key, safe="/~")


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


@attrs.frozen
class _Signing:
    key: bytes
    scope: str
    credential: str  # URI-encoded "<access key>/<scope>"
    token: str | None  # URI-encoded session token


@attrs.frozen
class SignatureMac:
    """HMAC-SHA256 (RFC 2104) under one key of messages that start with one fixed head,
    kept as its two SHA-256 states with the key and the head absorbed: a message costs two
    state copies, its tail and the outer hash (hmac.HMAC.copy is Python around the same)."""

    inner: Any  # SHA-256 of (key ^ ipad) + head
    outer: Any  # SHA-256 of (key ^ opad)

    @classmethod
    def keyed(cls, key: bytes, head: bytes) -> SignatureMac:
        if len(key) > SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(SHA256_BLOCK, b"\0")
        inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        inner.update(head)
        return cls(inner=inner, outer=hashlib.sha256(bytes(byte ^ 0x5C for byte in key)))

    def hexdigest(self, tail: bytes) -> str:
        """The HMAC of the head followed by `tail`, in hex."""
        inner = self.inner.copy()
        inner.update(tail)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@attrs.frozen
class KeySigner:
    """Presigns one kind of request for any key: per URL, the canonical request is the
    key's path between a fixed head and tail, then one SHA-256 and one HMAC."""

    mac: SignatureMac  # the string to sign's head (algorithm, timestamp, scope) absorbed
    origin: str
    path_prefix: str
    query: str
    request_head: str
    request_tail: str

    def url(self, object_key: str) -> str:
        path = self.path_prefix + encode_key(object_key)
        canonical_request = self.request_head + path + self.request_tail
        digest = hashlib.sha256(canonical_request.encode()).hexdigest()
        return f"{self.origin}{path}?{self.query}{self.mac.hexdigest(digest.encode())}"


@attrs.frozen
class PartSigner:
    """Presigns the parts of one multipart upload that share a length and checksum: per
    URL, the part number goes into its place in the URL and after the canonical request's
    head (hashed once), then the rest is hashed, and one HMAC."""

    mac: SignatureMac
    url_head: str  # through "partNumber="
    url_tail: str  # after the number, through "X-Amz-Signature="
    request_head: Any  # SHA-256 of the canonical request through "partNumber="
    request_tail: bytes  # the canonical request after the number

    def url(self, part_number: int) -> str:
        number = str(int(part_number))
        request = self.request_head.copy()
        request.update(number.encode() + self.request_tail)
        signature = self.mac.hexdigest(request.hexdigest().encode())
        return f"{self.url_head}{number}{self.url_tail}{signature}"


@attrs.frozen
class _UploadParts:
    """One upload's UploadPart request at one instant, with holes for what differs from
    part to part: the number, and the length and checksum value among the signed headers."""

    mac: SignatureMac
    url_head: str
    url_tail: str
    request_head: Any
    request_tail: str  # holds _LENGTH_SLOT and _CHECKSUM_SLOT where signed

    def bound(self, content_length: int | None, checksum: Checksum | None) -> PartSigner:
        """The signer of the parts of this length and checksum."""
        tail = self.request_tail
        if content_length is not None:
            tail = tail.replace(_LENGTH_SLOT, str(int(content_length)))
        if checksum is not None:
            tail = tail.replace(_CHECKSUM_SLOT, _header_value(checksum.value))
        return PartSigner(mac=self.mac, url_head=self.url_head, url_tail=self.url_tail,
                          request_head=self.request_head, request_tail=tail.encode())


def window_start(moment: datetime, window_seconds: int) -> int:
    """The Unix second `moment`'s signing window starts at. Windows are aligned on the
    epoch, so every process signs a key at the same instant; a window of 0 is one second
    (X-Amz-Date's resolution)."""
    second = int(moment.timestamp())
    return second - second % max(window_seconds, 1)


@attrs.frozen
class _WindowUrls:
    """One window's GET signer for a bucket, and the URLs it made, by object key."""

    kept_as: tuple[Any, ...]
    signer: KeySigner
    urls: dict[str, str] = attrs.Factory(dict)

    def url(self, object_key: str) -> str:
        url = self.urls.get(object_key)
        if url is None:
            if len(self.urls) >= URLS_KEPT_PER_WINDOW:
                self.urls.clear()
            url = self.urls[object_key] = self.signer.url(object_key)
        return url


class S3Presigner:
    """Presigns S3 GET and PUT URLs with the credentials the S3 client signs with.

    `credentials` is a botocore Credentials or RefreshableCredentials object: its
    `get_frozen_credentials()` is read on every call, so rotated role credentials are
    used as soon as botocore has them.
    """

    def __init__(self, credentials: Any, clock: Clock = utc_now) -> None:
        self.credentials = credentials
        self.clock = clock
        self._cached: tuple[tuple[Any, ...], _Signing] | None = None
        self._signers: dict[tuple[Any, ...], KeySigner] = {}
        self._uploads: dict[tuple[Any, ...], _UploadParts] = {}
        self._windows: dict[BucketEndpoint, _WindowUrls] = {}

    def refresh_due(self) -> bool:
        """True when reading the credentials may fetch new ones (network I/O)."""
        refresh_needed = getattr(self.credentials, "refresh_needed", None)
        return bool(refresh_needed and refresh_needed())

    def presign(
        self,
        endpoint: BucketEndpoint,
        key: str,
        expires_in: int,
        *,
        method: str = "GET",
        content_type: str | None = None,
        content_length: int | None = None,
        if_none_match: str | None = None,
        checksum: Checksum | None = None,
    ) -> str:
        """A presigned URL for `method` on `key`, bound to the headers given
        (`if_none_match="*"`: S3 refuses the PUT when the key already holds an object;
        `checksum`: S3 refuses a body with another digest)."""
        return self.signer(endpoint, expires_in, method=method, content_type=content_type,
                           content_length=content_length, if_none_match=if_none_match,
                           checksum=checksum).url(key)

    def signer(
        self,
        endpoint: BucketEndpoint,
        expires_in: int,
        *,
        method: str = "GET",
        content_type: str | None = None,
        content_length: int | None = None,
        if_none_match: str | None = None,
        checksum: Checksum | None = None,
    ) -> KeySigner:
        """Signs URLs of one kind for any key, at this instant: what every URL of a page
        shares (credentials, timestamp, query string, canonical headers) is made once, and
        kept for the rest of the second (the timestamp's resolution)."""
        frozen = self.credentials.get_frozen_credentials()
        now = self.clock()
        kept_as = (int(now.timestamp()), frozen.access_key, frozen.secret_key, frozen.token,
                   endpoint, expires_in, method, content_type, content_length, if_none_match,
                   checksum)
        signer = self._signers.get(kept_as)
        if signer is None:
            signer = self._new_signer(frozen, now, endpoint, expires_in, method, content_type,
                                      _decimal(content_length), if_none_match, checksum)
            if len(self._signers) >= SIGNERS_KEPT:
                self._signers.clear()
            self._signers[kept_as] = signer
        return signer

    def window_signer(
        self, endpoint: BucketEndpoint, ttl_seconds: int, window_seconds: int
    ) -> Callable[[str], str]:
        """Signs GETs of any key once per window: at the window's start, expiring
        `ttl_seconds + window_seconds` later, so a URL handed out at any moment of the
        window is valid for at least `ttl_seconds` and at most ttl + window. A key asked for
        again in the window gets the URL already made; new credentials start a new window
        at once. A window of 0 signs at each second, as `signer` does."""
        made_with = self.window_of(window_seconds)
        kept_as = (*made_with, ttl_seconds, window_seconds)
        window = self._windows.get(endpoint)
        if window is None or window.kept_as != kept_as:
            start, frozen = made_with
            signer = self._new_signer(frozen, datetime.fromtimestamp(start, UTC), endpoint,
                                      ttl_seconds + window_seconds, "GET", None, None, None, None)
            window = self._windows[endpoint] = _WindowUrls(kept_as, signer)
        return window.url

    def window_of(self, window_seconds: int) -> tuple[int, Any]:
        """What a window's URLs are signed with: the window's start and the credentials (a
        frozen copy, equal to another only with the same key, secret and token)."""
        return (window_start(self.clock(), window_seconds),
                self.credentials.get_frozen_credentials())

    def _new_signer(
        self, frozen: Any, now: datetime, endpoint: BucketEndpoint, expires_in: int,
        method: str, content_type: str | None, content_length: str | None,
        if_none_match: str | None, checksum: Checksum | None,
        query: Sequence[tuple[str, str]] = (),
    ) -> KeySigner:
        timestamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        signing = self._signing(frozen, timestamp[:8], endpoint.region)
        headers = self._signed_headers(endpoint.host, content_type, content_length,
                                       if_none_match, checksum)
        signed_names = ";".join(name for name, _ in headers)
        # Values already URI-encoded; timestamp and expiry are digits and letters only.
        params = [
            ("X-Amz-Algorithm", ALGORITHM),
            ("X-Amz-Credential", signing.credential),
            ("X-Amz-Date", timestamp),
            ("X-Amz-Expires", str(int(expires_in))),
            ("X-Amz-SignedHeaders", signed_names.replace(";", "%3B")),
        ]
        if signing.token is not None:
            params.append(("X-Amz-Security-Token", signing.token))
        # The operation's own parameters (UploadPart's uploadId, partNumber) come first.
        pairs = [f"{_encode(name)}={_encode(value)}" for name, value in query]
        pairs += [f"{name}={value}" for name, value in params]
        canonical_headers = "".join(f"{name}:{value}\n" for name, value in headers)
        string_head = f"{ALGORITHM}\n{timestamp}\n{signing.scope}\n"
        return KeySigner(
            mac=SignatureMac.keyed(signing.key, string_head.encode()),
            origin=endpoint.origin,
            path_prefix=f"{endpoint.path_prefix}/",
            # botocore's order in the URL: parameters as inserted, the signature last
            query=f"{'&'.join(pairs)}&X-Amz-Signature=",
            request_head=f"{method}\n",
            request_tail=(f"\n{'&'.join(sorted(pairs))}\n{canonical_headers}\n{signed_names}\n"
                          f"{UNSIGNED_PAYLOAD}"),
        )

    def presign_part(
        self,
        endpoint: BucketEndpoint,
        key: str,
        expires_in: int,
        *,
        upload_id: str,
        part_number: int,
        content_length: int | None = None,
        checksum: Checksum | None = None,
    ) -> str:
        """A presigned UploadPart (a PUT of one part of a multipart upload), bound to the
        part's length and checksum when given."""
        return self.part_signer(endpoint, key, expires_in, upload_id=upload_id,
                                content_length=content_length, checksum=checksum
                                ).url(part_number)

    def part_signer(
        self,
        endpoint: BucketEndpoint,
        key: str,
        expires_in: int,
        *,
        upload_id: str,
        content_length: int | None = None,
        checksum: Checksum | None = None,
    ) -> PartSigner:
        """Signs UploadParts of one upload, all of one length and checksum, at this
        instant. What the upload's parts share is made once and kept for the rest of the
        second: a signer for another length or checksum costs a few string replacements."""
        frozen = self.credentials.get_frozen_credentials()
        now = self.clock()
        kept_as = (int(now.timestamp()), frozen.access_key, frozen.secret_key, frozen.token,
                   endpoint, key, expires_in, upload_id, content_length is None,
                   None if checksum is None else checksum.algorithm)
        parts = self._uploads.get(kept_as)
        if parts is None:
            parts = self._upload_parts(frozen, now, endpoint, key, expires_in, upload_id,
                                       signs_length=content_length is not None,
                                       algorithm=None if checksum is None else checksum.algorithm)
            if len(self._uploads) >= PART_REQUESTS_KEPT:
                self._uploads.clear()
            self._uploads[kept_as] = parts
        return parts.bound(content_length, checksum)

    def _upload_parts(
        self, frozen: Any, now: datetime, endpoint: BucketEndpoint, key: str,
        expires_in: int, upload_id: str, *, signs_length: bool, algorithm: str | None,
    ) -> _UploadParts:
        """An upload's part request with slots. The upload id and the part number are in the
        signed query (the number sorts between the X-Amz- parameters and uploadId), the
        length and checksum among the signed headers, after the query."""
        checksum = None if algorithm is None else Checksum(algorithm, _CHECKSUM_SLOT)
        signer = self._new_signer(frozen, now, endpoint, expires_in, "PUT", None,
                                  _LENGTH_SLOT if signs_length else None, None, checksum,
                                  query=(("uploadId", upload_id), ("partNumber", _SLOT)))
        path = signer.path_prefix + encode_key(key)
        slot = f"partNumber={_encode(_SLOT)}"
        url_head, url_tail = f"{signer.origin}{path}?{signer.query}".split(slot)
        request_head, request_tail = (signer.request_head + path + signer.request_tail
                                      ).split(slot)
        return _UploadParts(
            mac=signer.mac, url_head=f"{url_head}partNumber=", url_tail=url_tail,
            request_head=hashlib.sha256(f"{request_head}partNumber=".encode()),
            request_tail=request_tail)

    @staticmethod
    def _signed_headers(
        host: str, content_type: str | None, content_length: str | None,
        if_none_match: str | None, checksum: Checksum | None,
    ) -> list[tuple[str, str]]:
        headers = [("host", host)]
        if content_type is not None and content_type != BOTOCORE_DEFAULT_CONTENT_TYPE:
            headers.append(("content-type", _header_value(content_type)))
        if content_length is not None:
            headers.append(("content-length", content_length))
        if if_none_match is not None:
            headers.append(("if-none-match", _header_value(if_none_match)))
        if checksum is not None:
            headers += [(name, _header_value(value))
                        for name, value in checksum.headers().items()]
        return sorted(headers)

    def _signing(self, frozen: Any, date: str, region: str) -> _Signing:
        """The derived key and encoded scope, kept until credentials, date or region change."""
        cache_key = (frozen.access_key, frozen.secret_key, frozen.token, date, region)
        cached = self._cached
        if cached is not None and cached[0] == cache_key:
            return cached[1]
        key = f"AWS4{frozen.secret_key}".encode()
        for part in (date, region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        scope = f"{date}/{region}/s3/aws4_request"
        signing = _Signing(
            key=key,
            scope=scope,
            credential=_encode(f"{frozen.access_key}/{scope}"),
            token=None if frozen.token is None else _encode(frozen.token),
        )
        self._cached = (cache_key, signing)  # one tuple: atomic for concurrent readers
        return signing


def _decimal(value: int | None) -> str | None:
    return None if value is None else str(int(value))


def _header_value(value: str) -> str:
    """SigV4's canonical header value: runs of spaces folded into one, ends trimmed."""
    return " ".join(value.split())


def botocore_presign(
    s3: Any,
    bucket: str,
    key: str,
    expires_in: int,
    *,
    method: str = "GET",
    content_type: str | None = None,
    content_length: int | None = None,
    if_none_match: str | None = None,
    checksum: Checksum | None = None,
) -> str:
    """The same URL through botocore's `generate_presigned_url` (the reference)."""
    if method == "GET":
        return s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires_in
        )
    params: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if content_type is not None:
        params["ContentType"] = content_type
    if content_length is not None:
        params["ContentLength"] = content_length
    if if_none_match is not None:
        params["IfNoneMatch"] = if_none_match
    if checksum is not None:
        params[f"Checksum{checksum.algorithm}"] = checksum.value
        params["ChecksumAlgorithm"] = checksum.algorithm
    return s3.generate_presigned_url(
        "put_object", Params=params, ExpiresIn=expires_in, HttpMethod="PUT"
    )


def botocore_presign_part(
    s3: Any,
    bucket: str,
    key: str,
    expires_in: int,
    *,
    upload_id: str,
    part_number: int,
    content_length: int | None = None,
    checksum: Checksum | None = None,
) -> str:
    """An UploadPart URL through botocore's `generate_presigned_url` (the reference)."""
    params: dict[str, Any] = {"Bucket": bucket, "Key": key, "UploadId": upload_id,
                              "PartNumber": part_number}
    if content_length is not None:
        params["ContentLength"] = content_length
    if checksum is not None:
        params[f"Checksum{checksum.algorithm}"] = checksum.value
        params["ChecksumAlgorithm"] = checksum.algorithm
    return s3.generate_presigned_url(
        "upload_part", Params=params, ExpiresIn=expires_in, HttpMethod="PUT"
    )


def signed_at(url: str) -> datetime:
    """The X-Amz-Date a presigned URL was signed at."""
    stamp = parse_qs(urlsplit(url).query)["X-Amz-Date"][0]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def expires_at(url: str) -> datetime:
    """The instant a presigned URL stops working: its X-Amz-Date plus X-Amz-Expires."""
    expires = int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])
    return signed_at(url) + timedelta(seconds=expires)


def matches_botocore(
    s3: Any, presigner: S3Presigner, endpoint: BucketEndpoint, bucket: str
) -> bool:
    """Whether our URLs for `bucket` equal botocore's byte for byte (GET, also through a
    window's memo, PUTs bound to the headers an upload URL signs, and UploadParts).

    Each botocore URL is recomputed at the X-Amz-Date botocore signed it at, so the
    check needs no clock patching and cannot race a second boundary.
    """
    key = "check/a b+c~d=e%f/ü.mp4"

    def at_its_date(url: str) -> S3Presigner:
        return type(presigner)(presigner.credentials, clock=functools.partial(signed_at, url))

    expected = botocore_presign(s3, bucket, key, 900)
    # a window of 0 starts at the second botocore signed in
    if at_its_date(expected).window_signer(endpoint, 900, 0)(key) != expected:
        return False
    cases: list[dict[str, Any]] = [
        {"method": "GET"},
        {"method": "PUT", "content_type": "video/mp4", "if_none_match": "*"},
        {"method": "PUT", "content_type": "image/jpeg", "content_length": 1234,
         "if_none_match": "*"},
        {"method": "PUT", "content_type": "video/mp4", "if_none_match": "*",
         "checksum": Checksum("SHA256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")},
        {"method": "PUT", "content_type": "video/mp4", "content_length": 99,
         "if_none_match": "*", "checksum": Checksum("CRC32C", "AAAAAA==")},
    ]
    for case in cases:
        expected = botocore_presign(s3, bucket, key, 900, **case)
        if at_its_date(expected).presign(endpoint, key, 900, **case) != expected:
            return False
    part_cases: list[dict[str, Any]] = [
        {"upload_id": "a.b_c-d~e+f/g=h", "part_number": 1},
        {"upload_id": "2~Zx9", "part_number": 10_000, "content_length": 8 * 1024**2,
         "checksum": Checksum("SHA256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")},
        {"upload_id": "2~Zx9", "part_number": 7, "content_length": 1,
         "checksum": Checksum("CRC32C", "AAAAAA==")},
    ]
    for case in part_cases:
        expected = botocore_presign_part(s3, bucket, key, 900, **case)
        if at_its_date(expected).presign_part(endpoint, key, 900, **case) != expected:
            return False
    return True
