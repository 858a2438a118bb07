"""What only the local provider does: argon2id hashes, tokens stored hashed, expiry,
rotation, codes delivered through its hook."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from core.errors import ConfigError
from core.sessions import AUTH_PATH
from plugins.auth_local.tables import LocalSession, LocalUser
from tests.auth.conftest import concurrently
from tests.auth.contract import (
    PASSWORD,
    confirm,
    error_fields,
    login,
    new_email,
    register,
    signed_in,
    wrong_code,
)


def run(client, query):
    """Run a query on the app's own event loop (where its connection pool lives)."""
    return client.portal.call(query.run)


def password_hash(client, email: str) -> str:
    query = LocalUser.select(LocalUser.password_hash).where(LocalUser.email == email)
    return run(client, query)[0]["password_hash"]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def client(local_harness):
    return local_harness.start()


def test_passwords_are_stored_as_argon2id_hashes_with_the_default_costs(local_harness):
    client = local_harness.start(argon2_time_cost=3, argon2_memory_kib=65536,
                                 argon2_parallelism=4)
    email = new_email()
    register(client, email)
    stored = password_hash(client, email)
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD not in stored


def test_a_hash_with_old_costs_is_redone_at_sign_in(local_harness):
    email = new_email()
    register(local_harness.start(), email)
    stronger = local_harness.start(argon2_time_cost=2)
    before = password_hash(stronger, email)
    assert login(stronger, email).status_code == 200
    assert ",t=1," in before and ",t=2," in password_hash(stronger, email)


def test_session_tokens_are_stored_only_as_their_sha256(client):
    signed_in(client)
    access, refresh = client.cookies["access_token"], client.cookies["refresh_token"]
    rows = run(client, LocalSession.select(LocalSession.token_hash, LocalSession.kind))
    assert {(row["kind"], row["token_hash"]) for row in rows} == {
        ("access", sha256(access)), ("refresh", sha256(refresh))
    }
    assert len(access) >= 43 and access != refresh


def test_an_expired_access_token_is_refused(local_harness):
    # The row's expiry is moved behind the app's back: checked on every request, the
    # app sees it at once (a real expiry ends a kept session too: test_verified_sessions).
    client = local_harness.start(session_recheck_seconds=0)
    signed_in(client)
    assert client.get(f"{AUTH_PATH}/me").status_code == 200
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    run(client, LocalSession.update({LocalSession.expires_at: past})
        .where(LocalSession.kind == "access"))
    assert client.get(f"{AUTH_PATH}/me").status_code == 401
    # The refresh token still works, and brings a fresh access token.
    assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
    assert client.get(f"{AUTH_PATH}/me").status_code == 200


def test_refresh_rotates_both_tokens(client):
    signed_in(client)
    old_access, old_refresh = client.cookies["access_token"], client.cookies["refresh_token"]
    assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
    assert client.cookies["refresh_token"] != old_refresh
    client.cookies.clear()
    assert client.post(f"{AUTH_PATH}/refresh",
                       headers={"Cookie": f"refresh_token={old_refresh}"}).status_code == 401
    assert client.get(f"{AUTH_PATH}/me",
                      headers={"Cookie": f"access_token={old_access}"}).status_code == 401


def refresh_with(client, token: str):
    client.cookies.clear()
    return client.post(f"{AUTH_PATH}/refresh", headers={"Cookie": f"refresh_token={token}"})


def me_with(client, token: str):
    client.cookies.clear()
    return client.get(f"{AUTH_PATH}/me", headers={"Cookie": f"access_token={token}"})


def live_refresh_tokens(client) -> int:
    return run(client, LocalSession.count().where(
        (LocalSession.kind == "refresh") & LocalSession.used_at.is_null()))


@pytest.mark.parametrize("racers", [2, 5])
def test_concurrent_refreshes_of_one_token_yield_exactly_one_new_pair(client, racers):
    signed_in(client)
    token = client.cookies["refresh_token"]
    client.cookies.clear()
    refresh = {"method": "POST", "url": f"{AUTH_PATH}/refresh",
               "headers": {"Cookie": f"refresh_token={token}"}}
    answers = concurrently(client, *[refresh] * racers)
    assert sorted(answer.status_code for answer in answers) == [200] + [401] * (racers - 1)
    (winner,) = [answer for answer in answers if answer.status_code == 200]
    assert live_refresh_tokens(client) == 1
    # The losers came within the grace: the winner's session lives on.
    assert me_with(client, winner.cookies["access_token"]).status_code == 200
    assert refresh_with(client, winner.cookies["refresh_token"]).status_code == 200


def test_a_refresh_racing_a_logout_leaves_no_session_alive(local_harness):
    client = local_harness.start(rate_limits={"login_per_email": "off"})
    email = new_email()
    signed_in(client, email)
    for _ in range(5):
        other_device = client.cookies["refresh_token"]
        client.cookies.clear()
        assert login(client, email).status_code == 200
        refresh = {"method": "POST", "url": f"{AUTH_PATH}/refresh",
                   "headers": {"Cookie": f"refresh_token={other_device}"}}
        logout = {"method": "POST", "url": f"{AUTH_PATH}/logout",
                  "headers": {"Cookie": f"access_token={client.cookies['access_token']}"}}
        concurrently(client, refresh, logout)
        live = LocalSession.count().where(LocalSession.used_at.is_null())
        assert run(client, live) == 0
        client.cookies.clear()
        assert login(client, email).status_code == 200


def test_a_refresh_token_used_again_ends_its_session(local_harness):
    client = local_harness.start(refresh_reuse_grace_seconds=0)
    email = new_email()
    signed_in(client, email)
    stolen = client.cookies["refresh_token"]
    assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
    current = dict(client.cookies)
    client.cookies.clear()
    assert login(client, email).status_code == 200  # another device of the same user
    elsewhere = client.cookies["access_token"]
    assert refresh_with(client, stolen).status_code == 401
    # Whoever holds the session's current tokens is signed out as well...
    assert me_with(client, current["access_token"]).status_code == 401
    assert refresh_with(client, current["refresh_token"]).status_code == 401
    # ...and the user's other sessions are not.
    assert me_with(client, elsewhere).status_code == 200


def test_a_refresh_token_shown_again_within_the_grace_is_only_refused(client):
    signed_in(client)
    first = client.cookies["refresh_token"]
    assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
    second = client.cookies["refresh_token"]
    assert refresh_with(client, first).status_code == 401
    assert refresh_with(client, second).status_code == 200


def test_used_refresh_tokens_are_kept_until_they_expire(client):
    signed_in(client)
    first = client.cookies["refresh_token"]
    assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
    second = client.cookies["refresh_token"]
    kept = run(client, LocalSession.select(LocalSession.token_hash).where(
        LocalSession.used_at.is_not_null()))
    assert [row["token_hash"] for row in kept] == [sha256(first)]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    run(client, LocalSession.update({LocalSession.expires_at: past})
        .where(LocalSession.token_hash == sha256(first)))
    assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
    kept = run(client, LocalSession.select(LocalSession.token_hash).where(
        LocalSession.used_at.is_not_null()))
    assert [row["token_hash"] for row in kept] == [sha256(second)]


def test_wrong_codes_are_counted_in_the_account_and_survive_a_restart(local_harness):
    email = new_email()
    first = local_harness.start(confirm_by_code=True, confirmation_attempts=2)
    register(first, email)
    code = local_harness.code_for(email)
    for _ in range(2):
        assert confirm(first, email, wrong_code(code)).status_code == 422
    stored = LocalUser.select(LocalUser.confirmation_attempts).where(LocalUser.email == email)
    assert run(first, stored)[0]["confirmation_attempts"] == 2
    restarted = local_harness.start(confirm_by_code=True, confirmation_attempts=2)
    assert confirm(restarted, email, code).status_code == 422
    assert login(restarted, email).status_code == 403


def test_logout_ends_every_session_of_the_user(local_harness):
    client = local_harness.start()
    email = new_email()
    signed_in(client, email)
    first_device = client.cookies["access_token"]
    assert login(client, email).status_code == 200  # a second session
    assert client.post(f"{AUTH_PATH}/logout").status_code == 204
    client.cookies.clear()
    assert client.get(f"{AUTH_PATH}/me",
                      headers={"Cookie": f"access_token={first_device}"}).status_code == 401
    assert run(client, LocalSession.count()) == 0


def test_resend_sends_a_new_code_and_the_old_one_stops_working(local_harness):
    client = local_harness.start(confirm_by_code=True)
    email = new_email()
    register(client, email)
    first = local_harness.code_for(email)
    assert client.post(f"{AUTH_PATH}/resend-code", json={"email": email}).status_code == 202
    second = local_harness.code_for(email)
    if first != second:  # one chance in a million that the new code equals the old one
        stale = client.post(f"{AUTH_PATH}/confirm", json={"email": email, "code": first})
        assert stale.status_code == 422 and error_fields(stale) == {"code"}
    assert client.post(f"{AUTH_PATH}/confirm",
                       json={"email": email, "code": second}).status_code == 200


def test_an_expired_code_is_refused(local_harness):
    client = local_harness.start(confirm_by_code=True)
    email = new_email()
    register(client, email)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    run(client, LocalUser.update({LocalUser.confirmation_expires_at: past})
        .where(LocalUser.email == email))
    response = client.post(f"{AUTH_PATH}/confirm",
                           json={"email": email, "code": local_harness.code_for(email)})
    assert response.status_code == 422


def test_confirming_twice_is_harmless(local_harness):
    client = local_harness.start(confirm_by_code=True)
    email = new_email()
    register(client, email)
    body = {"email": email, "code": local_harness.code_for(email)}
    assert client.post(f"{AUTH_PATH}/confirm", json=body).status_code == 200
    assert client.post(f"{AUTH_PATH}/confirm", json=body).status_code == 200


def test_codes_without_a_delivery_plugin_stop_start_up(make_config, make_client):
    config = make_config(["auth_local"], plugins={"auth_local": {"confirmation": "code"}})
    with pytest.raises(ConfigError, match="deliver_confirmation_code"):
        make_client(config)


def test_the_actor_carries_the_users_email_and_name(client):
    session = signed_in(client)
    actor = client.portal.call(client.app.state.ctx.state["auth_local"].actor_for,
                               client.cookies["access_token"])
    assert (actor.id, actor.email, actor.name) == (session["user"]["id"],
                                                   session["user"]["email"], "Test User")


def test_signing_in_drops_the_users_expired_sessions(client):
    email = new_email()
    signed_in(client, email)
    stale = client.cookies["access_token"]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    run(client, LocalSession.update({LocalSession.expires_at: past})
        .where(LocalSession.token_hash == sha256(stale)))
    assert login(client, email).status_code == 200
    hashes = {row["token_hash"] for row in run(client, LocalSession.select())}
    assert sha256(stale) not in hashes and len(hashes) == 3


@pytest.mark.parametrize(("setting", "value"), [
    ("confirmation_attempts", 0), ("refresh_reuse_grace_seconds", -1),
    ("password_policy", {"min_length": 0}),
])
def test_settings_that_could_never_work_stop_start_up(make_config, make_client, setting, value):
    config = make_config(["auth_local"], plugins={"auth_local": {setting: value}})
    with pytest.raises(ConfigError, match=setting):
        make_client(config)
