"""Access tokens are verified locally: signature, algorithm, issuer, expiry, token use,
app client and the deny-list. Tokens are minted with the emulator's own signing key, so
each refusal is caused by the one thing the test changed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import anyio
import boto3
import httpx
import jwt
import pytest
from botocore.config import Config as BotoConfig
from cryptography.hazmat.primitives import serialization

from core.cache import MemoryCache
from core.sessions import AUTH_PATH
from plugins.auth_cognito.revocations import Revocations
from plugins.auth_cognito.tokens import (
    UNLOADED_RETRY_SECONDS,
    InvalidToken,
    JwksKeys,
    KeysUnavailable,
    TokenVerifier,
)
from tests.auth.conftest import cognito_gateway
from tests.auth.contract import login, new_email, register, signed_in
from tests.auth.deadlines import RECHECK_SECONDS, SLACK_SECONDS, refused_before
from tests.auth.tokens import (
    EMULATOR_KEY,
    access_claims,
    jwks_of,
    mint,
    new_rsa_key,
    pool_of,
)
from tests.support.services import free_port

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


class CountingCognito:
    """The emulator's Cognito client, counting the GetUser calls made through it."""

    def __init__(self, client) -> None:
        self.client = client
        self.get_user_calls = 0

    def __getattr__(self, name: str):
        return getattr(self.client, name)

    def get_user(self, **params):
        self.get_user_calls += 1
        return self.client.get_user(**params)


def count_cognito_checks(client) -> CountingCognito:
    gateway = cognito_gateway(client)
    gateway.client = CountingCognito(gateway.client)
    return gateway.client


def test_a_token_issued_in_the_second_of_a_sign_out_is_refused(client):
    email = new_email()
    subject = register(client, email).json()["id"]
    assert login(client, email).status_code == 200
    assert client.post(f"{AUTH_PATH}/logout").status_code == 204
    # Another session's token, issued in the sign-out's second (or one later, by a clock a
    # little ahead): whole-second `iat` cannot tell it from a later sign-in, Cognito can.
    for issued in (int(time.time()), int(time.time()) + 1):
        token = mint(access_claims(pool_of(client), subject, iat=issued))
        assert me(client, token).status_code == 401


def test_a_sign_in_right_after_a_sign_out_is_asked_of_cognito_once(client):
    email = new_email()
    signed_in(client, email)
    assert client.post(f"{AUTH_PATH}/logout").status_code == 204
    checks = count_cognito_checks(client)
    assert login(client, email).status_code == 200
    for _ in range(3):
        assert client.get(f"{AUTH_PATH}/me").status_code == 200
    assert checks.get_user_calls == 1  # the verdict is kept for the token


def test_a_token_long_before_the_sign_out_is_refused_without_asking_cognito(client):
    email = new_email()
    subject = register(client, email).json()["id"]
    assert login(client, email).status_code == 200
    assert client.post(f"{AUTH_PATH}/logout").status_code == 204
    checks = count_cognito_checks(client)
    old = mint(access_claims(pool_of(client), subject, iat=int(time.time()) - 120))
    assert me(client, old).status_code == 401
    assert checks.get_user_calls == 0


def test_an_unreachable_cognito_near_a_sign_out_is_503(client, moto_endpoint):
    email = new_email()
    signed_in(client, email)
    other_device = client.cookies["access_token"]
    client.cookies.clear()
    assert login(client, email).status_code == 200
    assert client.post(f"{AUTH_PATH}/logout").status_code == 204
    gateway = cognito_gateway(client)
    gateway.client = boto3.client(
        "cognito-idp", endpoint_url=f"http://127.0.0.1:{free_port()}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=BotoConfig(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}),
    )
    started = time.monotonic()
    response = me(client, other_device)
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert time.monotonic() - started < 10


# -- the sign-out rule, on a clock the test controls -----------------------------------------


class Asker:
    """Stands for Cognito's answer on a token: counts the questions."""

    def __init__(self, valid: bool) -> None:
        self.valid = valid
        self.asked = 0

    async def __call__(self) -> bool:
        self.asked += 1
        return self.valid


def revocations(clock: Clock) -> Revocations:
    return Revocations(MemoryCache(), remember_seconds=3600, margin=30, clock=clock)


def token(iat: int, jti: str = "j1") -> dict:
    return {"sub": "u1", "jti": jti, "origin_jti": f"session-{jti}", "iat": iat,
            "exp": iat + 3600}


async def test_the_sign_out_window_asks_only_within_the_margin():
    clock = Clock()
    clock.now = 1000.5
    deny = revocations(clock)
    await deny.revoke(token(990, jti="signed-out"))
    cases = {969: True, 970: None, 1000: None, 1030: None, 1031: False, 1200: False}
    for iat, outcome in cases.items():
        ask = Asker(valid=True)
        revoked = await deny.is_revoked(token(iat, jti=f"t{iat}"), ask)
        if outcome is None:  # within the margin: Cognito decides
            assert (revoked, ask.asked) == (False, 1), iat
        else:
            assert (revoked, ask.asked) == (outcome, 0), iat


async def test_cognitos_verdict_is_kept_until_the_next_sign_out():
    clock = Clock()
    deny = revocations(clock)
    await deny.revoke(token(int(clock.now), jti="a"))
    ask = Asker(valid=False)
    same_second = token(int(clock.now), jti="b")
    assert await deny.is_revoked(same_second, ask) is True
    assert await deny.is_revoked(same_second, ask) is True
    assert ask.asked == 1
    fresh = Asker(valid=True)
    new_sign_in = token(int(clock.now), jti="c")
    assert await deny.is_revoked(new_sign_in, fresh) is False
    clock.now += 5
    await deny.revoke(token(int(clock.now), jti="d"))  # another sign-out
    assert await deny.is_revoked(new_sign_in, Asker(valid=False)) is True


async def test_the_signed_out_session_is_refused_without_asking():
    clock = Clock()
    deny = revocations(clock)
    signed_out = token(int(clock.now) + 20)
    await deny.revoke(signed_out)
    ask = Asker(valid=True)
    assert await deny.is_revoked(signed_out, ask) is True and ask.asked == 0


async def test_without_a_sign_out_nothing_is_asked():
    ask = Asker(valid=False)
    assert await revocations(Clock()).is_revoked(token(1000), ask) is False
    assert ask.asked == 0


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
    # It learns of the end through Redis once its verified copy is due for a recheck.
    assert refused_before(time.monotonic() + RECHECK_SECONDS + SLACK_SECONDS,
                          lambda: me(second, token))


def test_an_unreachable_key_set_is_503_every_time_not_401(cognito_harness):
    client = cognito_harness.start(jwks_url="http://127.0.0.1:9/.well-known/jwks.json")
    token = mint(access_claims(pool_of(client), "any-subject"))
    for _ in range(3):  # the refetch is throttled; the answer stays 503
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


async def test_no_key_set_is_keys_unavailable_every_time_until_one_is_fetched(setup):
    server, clock, verifier = setup
    key = new_rsa_key()
    server.published = [("k1", key)]
    server.failing = True
    for _ in range(3):
        with pytest.raises(KeysUnavailable):
            await verifier.access_claims(signed("k1", key))
    assert server.requests == 1  # the retry is throttled even so
    server.failing = False
    with pytest.raises(KeysUnavailable):
        await verifier.access_claims(signed("k1", key))
    clock.now += UNLOADED_RETRY_SECONDS
    assert (await verifier.access_claims(signed("k1", key)))["sub"] == "u1"
    assert server.requests == 2


async def test_requests_do_not_queue_behind_a_first_fetch():
    fetching, release = anyio.Event(), anyio.Event()
    key = new_rsa_key()

    async def slow_keys(request: httpx.Request) -> httpx.Response:
        fetching.set()
        await release.wait()
        return httpx.Response(200, json=jwks_of(("k1", key)))

    async with httpx.AsyncClient(transport=httpx.MockTransport(slow_keys)) as http:
        verifier = TokenVerifier(JwksKeys(http, "https://issuer.example/jwks.json"),
                                 issuer=ISSUER, client_id=CLIENT_ID)
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(verifier.access_claims, signed("k1", key))
            with anyio.fail_after(5):
                await fetching.wait()  # the first request is now fetching
            with anyio.fail_after(5), pytest.raises(KeysUnavailable):
                await verifier.access_claims(signed("k1", key))
            release.set()
        assert (await verifier.access_claims(signed("k1", key)))["sub"] == "u1"
