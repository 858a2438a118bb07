"""The wire format of HMAC-signed service requests, shared by the client and the server.

    Authorization: ITUBE-HMAC-SHA256 KeyId=<id>, Timestamp=<unix seconds>, Signature=<hex>

The signature is HMAC-SHA256 with the key's secret over the scheme, the timestamp, the
method, the Host header, the raw path, the raw query string and the body's SHA-256, one
per line. Standard library only.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import attrs

SCHEME = "ITUBE-HMAC-SHA256"
_HEADER = re.compile(
    r"^ITUBE-HMAC-SHA256\s+KeyId=(?P<key_id>[A-Za-z0-9._:-]{1,128})\s*,\s*"
    r"Timestamp=(?P<timestamp>\d{1,12})\s*,\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@attrs.frozen
class TokenAuthorization:
    key_id: str
    timestamp: int
    signature: str = attrs.field(repr=False)


def string_to_sign(
    *, timestamp: int, method: str, host: str, raw_path: str, raw_query: str, body: bytes
) -> str:
    return "\n".join([SCHEME, str(timestamp), method.upper(), host, raw_path, raw_query,
                      hashlib.sha256(body).hexdigest()])


def signature(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def format_header(key_id: str, timestamp: int, sig: str) -> str:
    return f"{SCHEME} KeyId={key_id}, Timestamp={timestamp}, Signature={sig}"


def parse_header(value: str | None) -> TokenAuthorization | None:
    """None when absent or another scheme; ValueError when ours but malformed."""
    if not value or not value.startswith(SCHEME):
        return None
    match = _HEADER.match(value.strip())
    if match is None:
        raise ValueError("malformed")
    return TokenAuthorization(match["key_id"], int(match["timestamp"]), match["signature"])
