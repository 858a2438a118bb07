"""Access tokens are verified locally: signature, algorithm, issuer, expiry, token use,
app client and the deny-list. Tokens are minted with the emulator's own signing key, so
each refusal is caused by the one thing the test changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from core.sessions import AUTH_PATH
from plugins.auth_cognito.tokens import InvalidToken, JwksKeys, KeysUnavailable, TokenVerifier
from tests.auth.contract import login, new_email, register, signed_in
from tests.auth.tokens import (
    EMULATOR_KEY,
    access_claims,
    jwks_of,
    mint,
    new_rsa_key,
    pool_of,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def client(cognito_harness):
    return cognito_harness.start()


@pytest.fixture
def subject(client) -> str:
    return register(client, new_email()).json()["id"]


def me(client, token: str) -> httpx.Response:
    client.cookies.clear()
    return client.get(f"{AUTH_PATH}/me", headers={"Cookie": f"access_token={token}"})


def test_a_well_formed_token_is_accepted(client, subject):
    # The control for every refusal below: the same minting, nothing changed.
    response = me(client, mint(access_claims(pool_of(client), subject)))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == subject


@pytest.mark.parametrize("change", [
    pytest.param({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, id="expired"),
    pytest.param({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"},
                 id="another-issuer"),
    pytest.param({"token_use": "id"}, id="id-token-use"),
    pytest.param({"client_id": "another-app-client"}, id="another-client"),
    pytest.param({"jti": None}, id="no-token-id"),
    pytest.param({"exp": None}, id="no-expiry"),
])
def test_a_token_with_a_changed_claim_is_refused(client, subject, change):
    claims = access_claims(pool_of(client), subject, **change)
    assert me(client, mint(claims)).status_code == 401


def test_an_id_token_is_not_an_access_token(client, subject):
    pool = pool_of(client)
    claims = access_claims(pool, subject, token_use="id", client_id=None,
                           aud=pool["cognito_client_id"])
    assert me(client, mint(claims)).status_code == 401


def test_alg_none_is_refused(client, subject):
    token = jwt.encode(access_claims(pool_of(client), subject), None, algorithm="none",
                       headers={"kid": "dummy"})
    assert me(client, token).status_code == 401


def test_an_hmac_token_keyed_with_the_public_key_is_refused(client, subject):
    # The classic algorithm confusion: HS256 with the published RSA key as the secret.
    public_pem = EMULATOR_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "dummy"}).encode())
    payload = b64url(json.dumps(access_claims(pool_of(client), subject)).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert me(client, f"{header}.{payload}.{b64url(signature)}").status_code == 401


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_signed_by_another_key_under_the_same_key_id_is_refused(client, subject):
    token = mint(access_claims(pool_of(client), subject), key=new_rsa_key())
    assert me(client, token).status_code == 401


def test_a_token_naming_an_unknown_key_is_refused(client, subject):
    token = mint(access_claims(pool_of(client), subject), kid="rotated-away")
    assert me(client, token).status_code == 401
    assert me(client, mint(access_claims(pool_of(client), subject), kid=None)).status_code == 401


def test_a_tampered_payload_is_refused(client, subject):
    token = mint(access_claims(pool_of(client), subject))
    header, payload, signature = token.split(".")
    other = mint(access_claims(pool_of(client), "someone-else")).split(".")[1]
    assert me(client, f"{header}.{other}.{signature}").status_code == 401
    assert me(client, f"{header}.{payload}.{signature}").status_code == 200


def test_a_sign_out_refuses_the_users_older_tokens_from_other_sessions(client):
    email = new_email()
    subject = register(client, email).json()["id"]
    # A token of another device's session, issued a minute before the sign-out.
    elsewhere = mint(access_claims(pool_of(client), subject, iat=int(time.time()) - 60))
    assert me(client, elsewhere).status_code == 200
    assert login(client, email).status_code == 200
    assert client.post(f"{AUTH_PATH}/logout").status_code == 204
    assert me(client, elsewhere).status_code == 401


def test_a_sign_out_is_enforced_by_every_process_sharing_redis(
    cognito_harness, redis_url, redis_prefix
):
    shared = {"cache_redis": {"url": redis_url, "key_prefix": redis_prefix}}
    first = cognito_harness.start(with_plugins=shared)
    signed_in(first)  # before the second app starts: Piccolo serves one app's engine at a time
    token = first.cookies["access_token"]
    pool = pool_of(first)
    second = cognito_harness.start(
        with_plugins=shared,
        user_pool_id=pool["cognito_user_pool_id"], client_id=pool["cognito_client_id"],
        client_secret=pool["cognito_client_secret"], issuer=pool["cognito_issuer"],
        jwks_url=pool["cognito_jwks_url"],
    )
    assert me(second, token).status_code == 200  # the other process accepts the session
    assert first.post(f"{AUTH_PATH}/logout").status_code == 204
    assert me(second, token).status_code == 401  # and learns of its end through Redis


def test_an_unreachable_key_set_is_503_not_401(cognito_harness):
    client = cognito_harness.start(jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    token = mint(access_claims(pool_of(client), "any-subject"))
    response = me(client, token)
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    readiness = client.get("/readyz").json()
    assert readiness["status"] == "degraded"
    assert readiness["checks"]["cognito-keys"].startswith("failing")


# -- the key set, against a JWKS endpoint the test controls ----------------------------------

ISSUER = "https://issuer.example/pool"
CLIENT_ID = "app-client"


class KeyServer:
    """A JWKS endpoint (through httpx's MockTransport) whose keys the test rotates."""

    def __init__(self) -> None:
        self.published: list[tuple[str, object]] = []
        self.requests = 0
        self.failing = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        if self.failing:
            return httpx.Response(503)
        return httpx.Response(200, json=jwks_of(*self.published))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def signed(kid: str, key: object) -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "sub": "u1", "client_id": CLIENT_ID, "token_use": "access",
                       "iat": now, "exp": now + 60, "jti": "j1"}, key, algorithm="RS256",
                      headers={"kid": kid})


@pytest.fixture
async def setup():
    server, clock = KeyServer(), Clock()
    async with httpx.AsyncClient(transport=httpx.MockTransport(server.handle)) as http:
        keys = JwksKeys(http, "https://issuer.example/jwks.json", min_refetch_seconds=60,
                        clock=clock)
        yield server, clock, TokenVerifier(keys, issuer=ISSUER, client_id=CLIENT_ID)


async def test_the_key_set_is_fetched_once(setup):
    server, _, verifier = setup
    key = new_rsa_key()
    server.published = [("k1", key)]
    for _ in range(3):
        assert (await verifier.access_claims(signed("k1", key)))["sub"] == "u1"
    assert server.requests == 1


async def test_an_unknown_key_id_fetches_the_rotated_set(setup):
    server, clock, verifier = setup
    old, new = new_rsa_key(), new_rsa_key()
    server.published = [("k1", old)]
    await verifier.access_claims(signed("k1", old))
    server.published = [("k1", old), ("k2", new)]
    clock.now += 61
    assert (await verifier.access_claims(signed("k2", new)))["sub"] == "u1"
    assert server.requests == 2


async def test_unknown_key_ids_fetch_at_most_once_per_interval(setup):
    server, clock, verifier = setup
    key = new_rsa_key()
    server.published = [("k1", key)]
    await verifier.access_claims(signed("k1", key))
    for forged in ("x1", "x2", "x3"):
        with pytest.raises(InvalidToken):
            await verifier.access_claims(signed(forged, key))
    assert server.requests == 1  # fetched at start-up only: the interval has not passed
    clock.now += 61
    with pytest.raises(InvalidToken):
        await verifier.access_claims(signed("x4", key))
    assert server.requests == 2


async def test_a_failed_refetch_keeps_the_known_keys(setup):
    server, clock, verifier = setup
    key = new_rsa_key()
    server.published = [("k1", key)]
    await verifier.access_claims(signed("k1", key))
    server.failing = True
    clock.now += 61
    with pytest.raises(InvalidToken):
        await verifier.access_claims(signed("k9", key))
    assert (await verifier.access_claims(signed("k1", key)))["sub"] == "u1"


async def test_no_key_set_at_all_is_keys_unavailable(setup):
    server, _, verifier = setup
    server.failing = True
    with pytest.raises(KeysUnavailable):
        await verifier.access_claims(signed("k1", new_rsa_key()))
