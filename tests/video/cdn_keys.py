"""RSA keys for CloudFront signing in tests, and reading what CloudFront would check."""

from __future__ import annotations

import base64
import functools
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

KEY_ID = "K2JCJMDEHXQW5F"


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: Any = None, *, pkcs1: bool = False) -> str:
    """`key` (the test's RSA key by default) as an unencrypted PEM."""
    key = key or rsa_key()
    form = (serialization.PrivateFormat.TraditionalOpenSSL if pkcs1
            else serialization.PrivateFormat.PKCS8)
    return key.private_bytes(serialization.Encoding.PEM, form,
                             serialization.NoEncryption()).decode()


def ec_pem() -> str:
    return pem(ec.generate_private_key(ec.SECP256R1()))


def pem_body(text: str) -> str:
    """The base64 lines of a PEM: what must never be printed."""
    return "".join(line for line in text.splitlines() if not line.startswith("-----"))


def cloudfront_b64decode(value: str) -> bytes:
    """CloudFront's URL-safe base64 (`+`->`-`, `=`->`_`, `/`->`~`) decoded."""
    return base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))


def signed_params(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def policy_statement(policy: str) -> dict[str, Any]:
    (statement,) = json.loads(cloudfront_b64decode(policy))["Statement"]
    return statement  # type: ignore[no-any-return]


def verifies(policy: str, signature: str, key: rsa.RSAPrivateKey | None = None) -> bool:
    """Whether `signature` is RSA-SHA1 (PKCS#1 v1.5) of the policy's JSON by the key."""
    public = (key or rsa_key()).public_key()
    try:
        public.verify(cloudfront_b64decode(signature), cloudfront_b64decode(policy),
                      padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    except InvalidSignature:
        return False
    return True


def resource_covers(resource: str, url: str) -> bool:
    """CloudFront's check of a policy's Resource against the URL asked for (`*`: any
    characters, `?`: one), without the query string."""
    pattern = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource)
    plain = urlsplit(url)._replace(query="").geturl()
    return re.fullmatch(pattern, plain) is not None
