"""CloudFront signed URLs and signed cookies for a video's processed media.

One custom policy covers a whole prefix (`{base}/{prefix}*`): every object under it (an HLS
manifest, its variant playlists, every segment) is opened by the same query string or the
same three cookies. RSA signing costs about a millisecond, so each (resource, window) is
signed once and its result kept in a bounded LRU; a URL handed out in the window appends the
kept query. Windows are aligned on the epoch as for presigned S3 URLs, so every process
hands out the same query in a window, and a policy expires `ttl + window` seconds after its
window starts: at least `ttl` after any moment it is handed out.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal
from urllib.parse import parse_qsl, quote

import attrs
from botocore.signers import CloudFrontSigner
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from plugins.video.presign import utc_now, window_start

if TYPE_CHECKING:  # the settings check loads keys with this module
    from plugins.video.config import VideoSettings

# Signed policies kept (about 1 KB each with a 2048-bit key): two per video shown in a
# window (its processed prefix and its thumbnail), so a few thousand videos a window.
POLICY_CACHE_SIZE = 4096
POLICY_COOKIE = "CloudFront-Policy"
SIGNATURE_COOKIE = "CloudFront-Signature"
KEY_PAIR_ID_COOKIE = "CloudFront-Key-Pair-Id"


class CdnKeyError(ValueError):
    """Why a configured private key cannot sign; the message never quotes the key."""


def load_private_key(pem: str) -> rsa.RSAPrivateKey:
    """The RSA key in `pem` (unencrypted PKCS#1 or PKCS#8). A variable holding the PEM on
    one line with literal `\\n` (as .env files often do) is read as the PEM it stands for."""
    if "\n" not in pem and "\\n" in pem:
        pem = pem.replace("\\n", "\n")
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CdnKeyError("does not load as an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CdnKeyError("is not an RSA key (CloudFront signs with RSA-SHA1)")
    return key


@attrs.frozen
class SignedPolicy:
    """A signed custom policy in CloudFront's URL-safe base64, and when it expires."""

    policy: str
    signature: str
    key_pair_id: str
    expires_at: int  # Unix seconds: the policy's DateLessThan

    @property
    def query(self) -> str:
        return f"Policy={self.policy}&Signature={self.signature}&Key-Pair-Id={self.key_pair_id}"


@attrs.frozen
class CdnCookie:
    """One signed cookie and the attributes it is set with."""

    name: str
    value: str
    max_age: int
    domain: str | None = None
    path: str = "/"
    secure: bool = True
    httponly: bool = True
    # The player's page and the CDN share the cookie's site (the Domain attribute must
    # cover both), so Lax reaches the CDN and no other site's request carries the cookies.
    samesite: Literal["lax", "strict", "none"] = "lax"


@attrs.frozen
class PolicyStats:
    signatures: int  # RSA signatures made
    hits: int  # policies served from the LRU
    size: int  # policies kept


class CdnSigner:
    """Signs CloudFront policies with one key pair; one per app, safe across threads."""

    def __init__(
        self, key_id: str, private_key_pem: str, *, ttl_seconds: int, window_seconds: int,
        cookie_domain: str = "", cache_size: int = POLICY_CACHE_SIZE,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self.key_id = key_id
        self.ttl_seconds = ttl_seconds
        self.window_seconds = window_seconds
        self.cookie_domain = cookie_domain
        self.clock = clock
        self._key = load_private_key(private_key_pem)
        self._signer = CloudFrontSigner(key_id, self._rsa_sign)
        self._cache: OrderedDict[tuple[str, int], SignedPolicy] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._signatures = 0
        self._hits = 0

    def __repr__(self) -> str:  # the key stays out of every repr and log line
        return f"CdnSigner(key_id={self.key_id!r})"

    @property
    def stats(self) -> PolicyStats:
        with self._lock:
            return PolicyStats(self._signatures, self._hits, len(self._cache))

    def _rsa_sign(self, message: bytes) -> bytes:
        with self._lock:
            self._signatures += 1
        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303

    def has_policy(self, resource: str) -> bool:
        """Whether `resource`'s policy of the current window is signed already."""
        start = window_start(self.clock(), self.window_seconds)
        with self._lock:
            return (resource, start) in self._cache

    def signed_policy(self, resource: str) -> SignedPolicy:
        """The policy opening `resource` (a URL, `*` a wildcard) for the current window."""
        start = window_start(self.clock(), self.window_seconds)
        cache_key = (resource, start)
        with self._lock:
            found = self._cache.get(cache_key)
            if found is not None:
                self._cache.move_to_end(cache_key)
                self._hits += 1
                return found
        made = self._sign(resource, start + self.window_seconds + self.ttl_seconds)
        with self._lock:
            self._cache[cache_key] = made
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return made

    def _sign(self, resource: str, expires_at: int) -> SignedPolicy:
        policy = self._signer.build_policy(resource, dt.datetime.fromtimestamp(expires_at, dt.UTC))
        # botocore's own encoding of the three parameters, read back from its query
        query = dict(parse_qsl(self._signer.generate_presigned_url("", policy=policy)[1:]))
        return SignedPolicy(query["Policy"], query["Signature"], query["Key-Pair-Id"],
                            expires_at)

    def signed_url(self, base_url: str, key: str, resource_key: str) -> str:
        """The URL of `key` under `base_url`, signed by the policy of `resource_key`'s
        prefix (`resource_key` itself for a single object)."""
        url = join_url(base_url, key)
        return f"{url}?{self.signed_policy(prefix_resource(base_url, resource_key)).query}"

    def cookies(self, base_url: str, resource_key: str) -> list[CdnCookie]:
        """The three signed cookies opening every object under `resource_key` on the CDN,
        kept until the policy expires."""
        signed = self.signed_policy(prefix_resource(base_url, resource_key))
        max_age = max(signed.expires_at - int(self.clock().timestamp()), 0)
        domain = self.cookie_domain or None
        return [CdnCookie(name, value, max_age, domain) for name, value in (
            (POLICY_COOKIE, signed.policy),
            (SIGNATURE_COOKIE, signed.signature),
            (KEY_PAIR_ID_COOKIE, signed.key_pair_id),
        )]


def join_url(base_url: str, key: str) -> str:
    return f"{base_url.rstrip('/')}/{quote(key)}"


def prefix_resource(base_url: str, prefix: str) -> str:
    """The policy resource of every object whose key starts with `prefix`."""
    return f"{join_url(base_url, prefix)}*"


def cdn_signer(settings: VideoSettings) -> CdnSigner | None:
    """The app's signer from `[plugins.video]`, or None when CDN signing is off (the
    settings were checked at start-up)."""
    if not settings.cdn_key_id:
        return None
    return CdnSigner(settings.cdn_key_id.strip(), settings.cdn_private_key,
                     ttl_seconds=settings.playback_url_ttl_seconds,
                     window_seconds=settings.media_url_window_seconds,
                     cookie_domain=settings.cdn_cookie_domain.strip().lstrip("."))
