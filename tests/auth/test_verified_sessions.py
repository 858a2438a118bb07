"""Verified sessions are kept per process, and no copy weakens a sign-out or an expiry:
the process that handled a sign-out refuses the session at once, every other one within
`session_recheck_seconds`, and no kept decision outlives its token. Both providers, both
databases, with the apps sharing Redis and the database as two worker processes do."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import httpx
import pytest

from core.auth import Actor
from core.errors import ConfigError
from core.sessions import AUTH_PATH, VerifiedSessions
from core.sessions.verified import token_key, verified_state_key
from tests.auth.conftest import AuthHarness
from tests.auth.contract import new_email, register, signed_in
from tests.auth.deadlines import RECHECK_SECONDS, SLACK_SECONDS, refused_before
from tests.auth.peer import peer_config, start_peer
from tests.auth.tokens import access_claims, mint, pool_of


def me(client: Any, token: str) -> httpx.Response:
    return client.get(f"{AUTH_PATH}/me", headers={"Cookie": f"access_token={token}"})


def verified_of(client: Any, plugin: str) -> VerifiedSessions:
    return client.app.state.ctx.state[verified_state_key(plugin)]


@pytest.fixture(params=["auth_cognito", "auth_local"])
def auth(request: pytest.FixtureRequest, cognito_harness: AuthHarness,
         local_harness: AuthHarness) -> AuthHarness:
    return cognito_harness if request.param == "auth_cognito" else local_harness


def peer_settings(auth: AuthHarness, first: Any) -> dict[str, Any]:
    """What a second app needs to share the first one's sessions: the same user pool (the
    database is the parametrised one already)."""
    if auth.plugin != "auth_cognito":
        return {}
    pool = pool_of(first)
    return {"user_pool_id": pool["cognito_user_pool_id"],
            "client_id": pool["cognito_client_id"],
            "client_secret": pool["cognito_client_secret"],
            "issuer": pool["cognito_issuer"], "jwks_url": pool["cognito_jwks_url"]}


def test_a_sign_out_is_refused_at_once_by_the_process_that_handled_it(auth):
    client = auth.start(session_recheck_seconds=60)
    signed_in(client)
    token = client.cookies["access_token"]
    assert me(client, token).status_code == 200  # verified, and kept for a minute
    assert client.post(f"{AUTH_PATH}/logout").status_code == 204
    assert me(client, token).status_code == 401


def test_a_sign_out_with_only_the_refresh_cookie_drops_the_kept_session(auth):
    client = auth.start(session_recheck_seconds=60)
    signed_in(client)
    token, refresh = client.cookies["access_token"], client.cookies["refresh_token"]
    assert me(client, token).status_code == 200
    client.cookies.clear()
    cookie = {"Cookie": f"refresh_token={refresh}"}
    assert client.post(f"{AUTH_PATH}/logout", headers=cookie).status_code == 204
    assert me(client, token).status_code == 401


def test_another_process_refuses_a_signed_out_session_within_the_bound(
    auth, db_url, moto_endpoint, redis_url, redis_prefix, tmp_path
):
    shared = {"cache_redis": {"url": redis_url, "key_prefix": redis_prefix}}
    first = auth.start(with_plugins=shared, session_recheck_seconds=RECHECK_SECONDS)
    signed_in(first)
    token = first.cookies["access_token"]
    config = peer_config(auth.plugin, db_url=db_url, moto_endpoint=moto_endpoint,
                         redis_url=redis_url, redis_prefix=redis_prefix,
                         settings={"session_recheck_seconds": RECHECK_SECONDS,
                                   **peer_settings(auth, first)})
    second = start_peer(tmp_path, config)
    try:
        with httpx.Client(base_url=second.url, timeout=10) as peer:
            assert me(peer, token).status_code == 200  # verified there, and kept
            assert first.post(f"{AUTH_PATH}/logout").status_code == 204
            signed_out = time.monotonic()
            assert refused_before(signed_out + RECHECK_SECONDS + SLACK_SECONDS,
                                  lambda: me(peer, token))
    finally:
        second.stop()


def short_lived_token(auth: AuthHarness, seconds: int) -> tuple[Any, str]:
    """An app that keeps verified sessions for a minute, and a session token of it that
    expires in `seconds` (no clock-skew leeway)."""
    if auth.plugin == "auth_cognito":
        client = auth.start(session_recheck_seconds=60, leeway_seconds=0)
        subject = register(client, new_email()).json()["id"]
        claims = access_claims(pool_of(client), subject, exp=int(time.time()) + seconds)
        return client, mint(claims)
    client = auth.start(session_recheck_seconds=60, access_token_seconds=seconds)
    signed_in(client)
    return client, client.cookies["access_token"]


def test_a_kept_session_is_refused_once_its_token_expires(auth):
    client, token = short_lived_token(auth, seconds=3)
    client.cookies.clear()
    assert me(client, token).status_code == 200
    assert len(verified_of(client, auth.plugin)) == 1  # kept, for far longer than the token
    expires = time.monotonic() + 3
    assert refused_before(expires + SLACK_SECONDS, lambda: me(client, token))
    assert time.monotonic() >= expires - 1  # refused for its expiry, not for anything else


def test_the_kept_sessions_are_keyed_by_a_hash_of_the_token(auth):
    client = auth.start()
    signed_in(client)
    token = client.cookies["access_token"]
    assert me(client, token).status_code == 200
    keys = list(verified_of(client, auth.plugin).keys())
    assert keys == [hashlib.sha256(token.encode()).hexdigest()]
    assert not any(token in key or key in token for key in keys)


def test_a_refresh_drops_the_access_token_it_replaced(auth):
    client = auth.start(session_recheck_seconds=60)
    signed_in(client)
    old = client.cookies["access_token"]
    assert me(client, old).status_code == 200
    assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
    assert len(verified_of(client, auth.plugin)) == 0


@pytest.mark.parametrize("value", [-1, 61])
def test_a_recheck_bound_out_of_range_stops_start_up(auth, value):
    with pytest.raises(ConfigError, match="session_recheck_seconds"):
        auth.start(session_recheck_seconds=value)


# -- the store itself, on a clock the test controls --------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Provider:
    """Answers for tokens "user-<n>", valid until `expires`; counts the checks."""

    def __init__(self, expires: float) -> None:
        self.expires = expires
        self.checks = 0
        self.valid = True

    async def __call__(self, token: str) -> Actor | None:
        self.checks += 1
        if not self.valid:
            return None
        return Actor(id=token, provider="test", claims={"exp": self.expires})


@pytest.mark.anyio
async def test_a_session_is_checked_again_after_the_recheck_bound():
    clock = Clock()
    provider = Provider(expires=clock.now + 3600)
    verified = VerifiedSessions(2.0, clock=clock)
    first = await verified.actor("user-1", provider)
    assert await verified.actor("user-1", provider) is first and provider.checks == 1
    clock.now += 2.0
    provider.valid = False  # revoked meanwhile
    assert await verified.actor("user-1", provider) is None and provider.checks == 2


@pytest.mark.anyio
async def test_a_kept_decision_ends_with_the_token():
    clock = Clock()
    provider = Provider(expires=clock.now + 0.5)
    verified = VerifiedSessions(60.0, clock=clock)
    assert await verified.actor("user-1", provider) is not None
    clock.now += 0.5
    provider.valid = False
    assert await verified.actor("user-1", provider) is None and provider.checks == 2


@pytest.mark.anyio
async def test_an_actor_without_an_expiry_is_never_kept():
    verified = VerifiedSessions(60.0, clock=Clock())

    async def no_expiry(token: str) -> Actor:
        return Actor(id=token, provider="test")

    assert await verified.actor("user-1", no_expiry) is not None
    assert len(verified) == 0


@pytest.mark.anyio
async def test_the_bound_on_entries_holds():
    clock = Clock()
    provider = Provider(expires=clock.now + 3600)
    verified = VerifiedSessions(60.0, max_entries=3, clock=clock)
    for n in range(10):
        await verified.actor(f"user-{n}", provider)
        assert len(verified) <= 3
    assert len(verified) == 3
    await verified.actor("user-9", provider)
    assert provider.checks == 10  # the newest are the ones kept


@pytest.mark.anyio
async def test_a_sign_out_forgets_every_session_of_the_user():
    clock = Clock()
    verified = VerifiedSessions(60.0, clock=clock)

    async def same_user(token: str) -> Actor:
        return Actor(id="u1", provider="test", claims={"exp": clock.now + 3600})

    for token in ("device-a", "device-b"):
        await verified.actor(token, same_user)
    verified.forget_user("test", "u1")
    assert len(verified) == 0


@pytest.mark.anyio
async def test_a_check_that_overlaps_a_sign_out_is_not_kept():
    clock = Clock()
    verified = VerifiedSessions(60.0, clock=clock)

    async def signed_out_meanwhile(token: str) -> Actor:
        verified.forget_user("test", "u1")  # another request signs the user out
        return Actor(id="u1", provider="test", claims={"exp": clock.now + 3600})

    assert await verified.actor("device-a", signed_out_meanwhile) is not None
    assert len(verified) == 0


@pytest.mark.anyio
async def test_a_kept_me_body_ends_with_its_session_check():
    clock = Clock()
    provider = Provider(expires=clock.now + 3600)
    verified = VerifiedSessions(2.0, clock=clock)
    key = token_key("user-1")
    first = await verified.actor("user-1", provider)
    assert first is not None
    verified.keep_profile_body(key, first, b'{"name":"before"}')
    assert verified.profile_body(key, first) == b'{"name":"before"}'
    assert verified.profile_body(token_key("user-2"), first) is None  # another token
    clock.now += 2.0  # checked again: the provider's answer, not the kept body, counts
    second = await verified.actor("user-1", provider)
    assert second is not None and second is not first
    assert verified.profile_body(key, second) is None
    assert verified.profile_body(key, first) is None
