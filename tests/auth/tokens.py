"""Minting Cognito-shaped tokens for tests, with the emulator's own signing key (it ships
in the moto package) or with keys of our own."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

EMULATOR_KID = "dummy"
EMULATOR_KEY = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def pool_of(client: Any) -> dict[str, str]:
    """The resources the app's local AWS emulation provisioned (pool id, client id...)."""
    return client.app.state.ctx.aws.resources


def access_claims(pool: dict[str, str], subject: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": pool["cognito_issuer"],
        "sub": subject,
        "client_id": pool["cognito_client_id"],
        "token_use": "access",
        "iat": now,
        "auth_time": now,
        "exp": now + 600,
        "jti": str(uuid.uuid4()),
        "origin_jti": str(uuid.uuid4()),
        "username": "someone@example.com",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def mint(claims: dict[str, Any], *, key: Any = EMULATOR_KEY, kid: str | None = EMULATOR_KID,
         algorithm: str = "RS256") -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_of(*keys: tuple[str, rsa.RSAPrivateKey]) -> dict[str, Any]:
    """A JWKS document publishing the public halves of `(kid, private key)` pairs."""
    published = []
    for kid, key in keys:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
        published.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
    return {"keys": published}
