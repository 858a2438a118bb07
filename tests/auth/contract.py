"""The user-auth contract: what every session provider must do, identically.

A provider's tests subclass `UserAuthContract` and provide an `auth` fixture returning an
`AuthHarness` (see conftest.py). Every test runs on both databases.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import jsonschema
import pytest

from core.sessions import AUTH_PATH
from tests.auth.conftest import ALLOWED_ORIGIN, CLIENT_ADDRESS, AuthHarness, concurrently

NAME = "Test User"
PASSWORD = "SecurePass123!"
_serial = itertools.count()


def new_email() -> str:
    return f"user{next(_serial)}@example.com"


def register(client: Any, email: str, password: str = PASSWORD, name: str = NAME,
             **headers: str) -> httpx.Response:
    return client.post(f"{AUTH_PATH}/register", headers=headers,
                       json={"name": name, "email": email, "password": password})


def login(client: Any, email: str, password: str = PASSWORD, **headers: str) -> httpx.Response:
    return client.post(f"{AUTH_PATH}/login", json={"email": email, "password": password},
                       headers=headers)


def signed_in(client: Any, email: str | None = None) -> dict[str, Any]:
    """Register and sign in a new user; returns the login body."""
    email = email or new_email()
    assert register(client, email).status_code == 201
    response = login(client, email)
    assert response.status_code == 200, response.text
    return response.json()


def set_cookies(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """Set-Cookie headers by cookie name: {"value": ..., "path": ..., "httponly": True...}."""
    cookies: dict[str, dict[str, Any]] = {}
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = pair.partition("=")
        cookie: dict[str, Any] = {"value": value}
        for attribute in attributes:
            key, has_value, text = attribute.partition("=")
            cookie[key.lower()] = text if has_value else True
        cookies[name] = cookie
    return cookies


def comparable(response: httpx.Response) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers, minus what differs per request anyway."""
    body = {k: v for k, v in response.json().items() if k != "request_id"}
    headers = {k: v for k, v in response.headers.items() if k not in {"x-request-id",
                                                                      "content-length"}}
    return response.status_code, body, headers


def error_fields(response: httpx.Response) -> set[str]:
    return {error["field"] for error in response.json().get("errors", [])}


def confirm(client: Any, email: str, code: str, **headers: str) -> httpx.Response:
    return client.post(f"{AUTH_PATH}/confirm", json={"email": email, "code": code},
                       headers=headers)


def wrong_code(right: str) -> str:
    return "000000" if right != "000000" else "111111"


def forwarded(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


# The test client's peer, trusted as a proxy: X-Forwarded-For then names the client.
BEHIND_A_PROXY = {"trusted_proxies": [CLIENT_ADDRESS[0]]}


class UserAuthContract:
    @pytest.fixture
    def auth(self) -> AuthHarness:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    @pytest.fixture
    def client(self, auth: AuthHarness) -> Any:
        return auth.start()

    # -- register ----------------------------------------------------------------------------

    def test_register_returns_the_new_user(self, client):
        response = register(client, "New.User@Example.com")
        assert response.status_code == 201, response.text
        user = response.json()
        assert user["email"] == "new.user@example.com"
        assert user["name"] == NAME
        assert user["id"] and user["provider"] and user["created_at"]
        assert user["confirmed"] is True
        assert PASSWORD not in response.text

    def test_register_twice_is_a_conflict(self, client):
        email = new_email()
        assert register(client, email).status_code == 201
        again = register(client, email.upper(), password="OtherPass456?")
        assert again.status_code == 409, again.text
        assert again.headers["content-type"] == "application/problem+json"

    def test_a_weak_password_is_422_naming_the_password(self, client):
        for password in ("Sh0rt!", "alllowercase1!", "ALLUPPERCASE1!", "NoDigitsHere!",
                         "NoSymbols123A", "Long1!" + "a" * 251):
            response = register(client, new_email(), password=password)
            assert response.status_code == 422, (password, response.text)
            assert error_fields(response) == {"password"}, password

    def test_a_malformed_email_is_422_naming_the_email(self, client):
        for email in ("not-an-email", "two@@example.com", "spaces in@example.com", "nodomain@",
                      "@example.com", "dot@example.", "x" * 250 + "@example.com"):
            response = register(client, email)
            assert response.status_code == 422, (email, response.text)
            assert error_fields(response) == {"email"}, email

    def test_every_bad_or_missing_field_is_named(self, client):
        response = register(client, "bad", password="weak", name="   ")
        assert response.status_code == 422
        assert error_fields(response) == {"name", "email", "password"}
        missing = client.post(f"{AUTH_PATH}/register", json={"email": new_email()})
        assert missing.status_code == 422
        assert {"name", "password"} <= error_fields(missing)

    @pytest.mark.parametrize("name", ["Mallory\u202egnp.exe", "Iso\u2067late", "Esc\x1b[2J",
                                      "Next\x85Line", "Tab\tName"])
    def test_a_name_with_control_or_bidirectional_characters_is_422_naming_the_name(
        self, client, name
    ):
        response = register(client, new_email(), name=name)
        assert response.status_code == 422, response.text
        assert error_fields(response) == {"name"}

    @pytest.mark.parametrize(("route", "body", "field"), [
        ("register", {"name": "A\x00B", "email": "x@example.com", "password": PASSWORD}, "name"),
        ("register", {"name": NAME, "email": "x\x00@example.com", "password": PASSWORD},
         "email"),
        ("register", {"name": NAME, "email": "x@example.com", "password": PASSWORD + "\x00"},
         "password"),
        ("login", {"email": "x@example.com\x00", "password": PASSWORD}, "email"),
        ("login", {"email": "x@example.com", "password": "\x00" + PASSWORD}, "password"),
        ("confirm", {"email": "x@\x00example.com", "code": "123456"}, "email"),
        ("confirm", {"email": "x@example.com", "code": "123456\x00"}, "code"),
        ("resend-code", {"email": "\x00x@example.com"}, "email"),
    ])
    def test_nul_in_any_field_is_422_naming_the_field(self, client, route, body, field):
        response = client.post(f"{AUTH_PATH}/{route}", json=body)
        assert response.status_code == 422, response.text
        assert error_fields(response) == {field}
        assert response.headers["content-type"] == "application/problem+json"

    def test_the_register_schema_publishes_the_password_policy(self, client):
        document = client.get("/openapi.json").json()
        body = document["paths"][f"{AUTH_PATH}/register"]["post"]["requestBody"]
        ref = body["content"]["application/json"]["schema"]["$ref"]
        schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
        password = schema["properties"]["password"]
        assert password["minLength"] == 8 and password["maxLength"] == 256
        assert "pattern" in password
        validator = jsonschema.Draft202012Validator(schema)
        for candidate in ("SecurePass123!", "Pass word12", "ÉÉÉÉpass123!", "Passwort٣٣!A",
                          "NoSymbols123A", "nouppercase1!", "Aa1!"):
            form = {"name": NAME, "email": new_email(), "password": candidate}
            response = client.post(f"{AUTH_PATH}/register", json=form)
            server_accepts = response.status_code == 201
            assert server_accepts or error_fields(response) == {"password"}, response.text
            assert validator.is_valid(form) == server_accepts, candidate

    def test_a_body_that_is_not_json_is_415(self, client):
        response = client.post(f"{AUTH_PATH}/login",
                               data={"email": "a@example.com", "password": PASSWORD})
        assert response.status_code == 415

    # -- login -------------------------------------------------------------------------------

    def test_login_sets_httponly_secure_lax_cookies(self, client):
        email = new_email()
        user_id = register(client, email).json()["id"]
        response = login(client, email)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"]["id"] == user_id and body["user"]["email"] == email
        cookies = set_cookies(response)
        access, refresh = cookies["access_token"], cookies["refresh_token"]
        for cookie in (access, refresh):
            assert cookie["httponly"] is True
            assert cookie["secure"] is True
            assert cookie["samesite"].lower() == "lax"
            assert cookie["value"] not in response.text  # tokens travel in cookies only
        assert access["path"] == "/"
        assert refresh["path"] == AUTH_PATH
        assert int(access["max-age"]) == body["expires_in"] > 0
        assert int(refresh["max-age"]) == 30 * 86400

    def test_cookies_are_not_secure_only_where_turned_off(self, auth):
        client = auth.start(secure_cookies=False)
        email = new_email()
        register(client, email)
        cookies = set_cookies(login(client, email))
        assert "secure" not in cookies["access_token"]
        assert "secure" not in cookies["refresh_token"]

    def test_the_email_is_case_insensitive(self, client):
        register(client, "Mixed.Case@Example.com")
        assert login(client, "MIXED.case@example.COM").status_code == 200

    def test_wrong_password_and_unknown_user_get_identical_401s(self, client):
        email = new_email()
        register(client, email)
        wrong_password = login(client, email, "WrongPass123!")
        unknown_user = login(client, new_email(), "WrongPass123!")
        assert wrong_password.status_code == 401
        assert comparable(wrong_password) == comparable(unknown_user)
        assert "set-cookie" not in wrong_password.headers

    def test_an_empty_password_is_422(self, client):
        response = login(client, new_email(), "")
        assert response.status_code == 422
        assert error_fields(response) == {"password"}

    # -- me, refresh, logout -----------------------------------------------------------------

    def test_me_without_a_valid_session_is_401(self, client):
        assert client.get(f"{AUTH_PATH}/me").status_code == 401
        garbage = client.get(f"{AUTH_PATH}/me", headers={"Cookie": "access_token=not-a-token"})
        assert garbage.status_code == 401

    def test_me_returns_the_signed_in_user(self, client):
        session = signed_in(client)
        me = client.get(f"{AUTH_PATH}/me")
        assert me.status_code == 200, me.text
        assert me.json() == session["user"]

    def test_refresh_issues_a_new_access_cookie(self, client):
        session = signed_in(client)
        response = client.post(f"{AUTH_PATH}/refresh")
        assert response.status_code == 200, response.text
        assert response.json()["user"]["id"] == session["user"]["id"]
        access = set_cookies(response)["access_token"]
        assert access["httponly"] is True and access["path"] == "/"
        assert int(access["max-age"]) > 0
        assert client.get(f"{AUTH_PATH}/me").status_code == 200

    def test_refresh_without_a_valid_refresh_cookie_is_401(self, client):
        assert client.post(f"{AUTH_PATH}/refresh").status_code == 401
        forged = {"Cookie": "refresh_token=dGVzdA.forged"}
        assert client.post(f"{AUTH_PATH}/refresh", headers=forged).status_code == 401

    def test_logout_revokes_the_session_and_clears_the_cookies(self, client):
        signed_in(client)
        access = client.cookies.get("access_token")
        refresh = client.cookies.get("refresh_token")
        response = client.post(f"{AUTH_PATH}/logout")
        assert response.status_code == 204
        cleared = set_cookies(response)
        assert cleared["access_token"]["max-age"] == "0"
        assert cleared["refresh_token"]["max-age"] == "0"
        assert cleared["refresh_token"]["path"] == AUTH_PATH
        # The old cookies, sent again by hand, no longer open anything.
        client.cookies.clear()
        me = client.get(f"{AUTH_PATH}/me", headers={"Cookie": f"access_token={access}"})
        assert me.status_code == 401
        again = client.post(f"{AUTH_PATH}/refresh", headers={"Cookie": f"refresh_token={refresh}"})
        assert again.status_code == 401

    def test_logout_with_only_the_refresh_cookie_still_ends_the_session(self, client):
        signed_in(client)
        refresh = {"Cookie": f"refresh_token={client.cookies['refresh_token']}"}
        client.cookies.clear()  # the access cookie has expired in the browser, say
        assert client.post(f"{AUTH_PATH}/logout", headers=refresh).status_code == 204
        assert client.post(f"{AUTH_PATH}/refresh", headers=refresh).status_code == 401

    def test_logout_leaves_no_session_of_the_user_alive(self, client):
        email = new_email()
        signed_in(client, email)
        other_device = dict(client.cookies)  # a second session, signed in just before
        client.cookies.clear()
        assert login(client, email).status_code == 200
        assert client.post(f"{AUTH_PATH}/logout").status_code == 204
        client.cookies.clear()
        cookie = {"Cookie": f"access_token={other_device['access_token']}"}
        assert client.get(f"{AUTH_PATH}/me", headers=cookie).status_code == 401
        cookie = {"Cookie": f"refresh_token={other_device['refresh_token']}"}
        assert client.post(f"{AUTH_PATH}/refresh", headers=cookie).status_code == 401
        # A sign-in right after the sign-out, in the same second or not, is a new session.
        assert login(client, email).status_code == 200
        assert client.get(f"{AUTH_PATH}/me").status_code == 200
        assert client.post(f"{AUTH_PATH}/refresh").status_code == 200
        assert client.get(f"{AUTH_PATH}/me").status_code == 200

    def test_signing_in_again_after_logout_works(self, client):
        email = new_email()
        signed_in(client, email)
        client.post(f"{AUTH_PATH}/logout")
        assert login(client, email).status_code == 200
        assert client.get(f"{AUTH_PATH}/me").status_code == 200

    def test_logout_without_a_session_still_answers_204(self, client):
        assert client.post(f"{AUTH_PATH}/logout").status_code == 204

    # -- confirmation ------------------------------------------------------------------------

    def test_an_unconfirmed_account_cannot_sign_in_until_confirmed(self, auth):
        client = auth.start(confirm_by_code=True)
        email = new_email()
        registered = register(client, email)
        assert registered.status_code == 201 and registered.json()["confirmed"] is False
        assert login(client, email).status_code == 403
        confirmed = client.post(f"{AUTH_PATH}/confirm",
                                json={"email": email, "code": auth.code_for(email)})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json() == {"email": email, "confirmed": True}
        assert login(client, email).status_code == 200

    def test_a_wrong_code_is_422_naming_the_code(self, auth):
        client = auth.start(confirm_by_code=True)
        email = new_email()
        register(client, email)
        response = confirm(client, email, wrong_code(auth.code_for(email)))
        assert response.status_code == 422
        assert error_fields(response) == {"code"}
        assert login(client, email).status_code == 403

    def test_too_many_wrong_codes_stop_the_code_until_a_new_one_is_sent(self, auth):
        client = auth.start(confirm_by_code=True, confirmation_attempts=3)
        email = new_email()
        register(client, email)
        code = auth.code_for(email)
        for _ in range(3):
            assert confirm(client, email, wrong_code(code)).status_code == 422
        refused = confirm(client, email, code)  # the right code, too late
        assert refused.status_code == 422 and error_fields(refused) == {"code"}
        assert "new code" in refused.json()["errors"][0]["message"]
        assert login(client, email).status_code == 403
        assert client.post(f"{AUTH_PATH}/resend-code", json={"email": email}).status_code == 202
        assert confirm(client, email, auth.code_for(email)).status_code == 200
        assert login(client, email).status_code == 200

    def test_the_right_code_within_the_attempts_confirms(self, auth):
        client = auth.start(confirm_by_code=True, confirmation_attempts=3)
        email = new_email()
        register(client, email)
        for _ in range(2):
            assert confirm(client, email, wrong_code(auth.code_for(email))).status_code == 422
        assert confirm(client, email, auth.code_for(email)).status_code == 200

    def test_wrong_codes_count_per_account(self, auth):
        client = auth.start(confirm_by_code=True, confirmation_attempts=2)
        guessed, other = new_email(), new_email()
        register(client, guessed)
        register(client, other)
        for _ in range(3):
            confirm(client, guessed, wrong_code(auth.code_for(guessed)))
        assert confirm(client, other, auth.code_for(other)).status_code == 200

    def test_concurrent_guesses_each_spend_an_attempt(self, auth):
        client = auth.start(confirm_by_code=True, confirmation_attempts=4,
                            rate_limits={"confirm": "off", "confirm_per_email": "off"})
        email = new_email()
        register(client, email)
        guess = {"method": "POST", "url": f"{AUTH_PATH}/confirm",
                 "json": {"email": email, "code": wrong_code(auth.code_for(email))}}
        answers = concurrently(client, *[guess] * 4)
        assert [answer.status_code for answer in answers] == [422] * 4
        assert confirm(client, email, auth.code_for(email)).status_code == 422

    def test_a_malformed_code_is_422(self, client):
        response = client.post(f"{AUTH_PATH}/confirm", json={"email": new_email(), "code": "x"})
        assert response.status_code == 422
        assert error_fields(response) == {"code"}

    def test_resend_code_answers_alike_for_known_and_unknown_addresses(self, client):
        email = new_email()
        register(client, email)
        known = client.post(f"{AUTH_PATH}/resend-code", json={"email": email})
        unknown = client.post(f"{AUTH_PATH}/resend-code", json={"email": new_email()})
        assert known.status_code == 202
        assert comparable(known) == comparable(unknown)

    # -- rate limits -------------------------------------------------------------------------

    @staticmethod
    def assert_limited(response: httpx.Response, window: int = 60) -> None:
        assert response.status_code == 429, response.text
        assert 1 <= int(response.headers["retry-after"]) <= window
        assert response.headers["content-type"] == "application/problem+json"

    def test_register_is_rate_limited_per_client(self, auth):
        client = auth.start(rate_limits={"register": "2/minute"})
        assert register(client, new_email()).status_code == 201
        assert register(client, new_email()).status_code == 201
        self.assert_limited(register(client, new_email()))

    def test_login_is_rate_limited_per_client(self, auth):
        client = auth.start(rate_limits={"login": "2/minute"})
        email = new_email()
        register(client, email)
        assert login(client, email, "WrongPass123!").status_code == 401
        assert login(client, new_email()).status_code == 401
        self.assert_limited(login(client, email))

    def test_login_is_rate_limited_per_email_whatever_the_address(self, auth):
        client = auth.start(rate_limits={"login_per_email": "2/minute"}, http=BEHIND_A_PROXY)
        email = new_email()
        register(client, email)
        for address in ("198.51.100.1", "198.51.100.2"):
            response = login(client, email, "WrongPass123!", **forwarded(address))
            assert response.status_code == 401
        self.assert_limited(login(client, email, **forwarded("198.51.100.3")))
        other = login(client, new_email(), **forwarded("198.51.100.3"))
        assert other.status_code == 401  # another address's attempts are not limited

    def test_register_is_rate_limited_per_email_whatever_the_address(self, auth):
        client = auth.start(rate_limits={"register_per_email": "2/minute"}, http=BEHIND_A_PROXY)
        email = new_email()
        assert register(client, email, **forwarded("198.51.100.1")).status_code == 201
        assert register(client, email, **forwarded("198.51.100.2")).status_code == 409
        self.assert_limited(register(client, email, **forwarded("198.51.100.3")))
        assert register(client, new_email(), **forwarded("198.51.100.3")).status_code == 201

    def test_confirm_is_rate_limited_per_email_whatever_the_address(self, auth):
        client = auth.start(confirm_by_code=True, http=BEHIND_A_PROXY,
                            rate_limits={"confirm_per_email": "2/minute"})
        email = new_email()
        register(client, email)
        wrong = wrong_code(auth.code_for(email))
        for address in ("198.51.100.1", "198.51.100.2"):
            assert confirm(client, email, wrong, **forwarded(address)).status_code == 422
        self.assert_limited(confirm(client, email, auth.code_for(email),
                                    **forwarded("198.51.100.3")))

    def test_refresh_is_rate_limited_per_client(self, auth):
        client = auth.start(rate_limits={"refresh": "2/minute"})
        forged = {"Cookie": "refresh_token=dGVzdA.forged"}
        for _ in range(2):
            assert client.post(f"{AUTH_PATH}/refresh", headers=forged).status_code == 401
        self.assert_limited(client.post(f"{AUTH_PATH}/refresh", headers=forged))
        self.assert_limited(client.post(f"{AUTH_PATH}/refresh"))  # with no cookie as well

    def test_logout_is_rate_limited_per_client(self, auth):
        client = auth.start(rate_limits={"logout": "2/minute"})
        forged = {"Cookie": "refresh_token=dGVzdA.forged; access_token=forged"}
        for _ in range(2):
            assert client.post(f"{AUTH_PATH}/logout", headers=forged).status_code == 204
        self.assert_limited(client.post(f"{AUTH_PATH}/logout", headers=forged))

    def test_a_trusted_proxy_separates_clients_by_the_address_it_reports(self, auth):
        client = auth.start(rate_limits={"register": "1/minute"}, http=BEHIND_A_PROXY)
        first = register(client, new_email(), **forwarded("10.0.0.1, 198.51.100.7"))
        second = register(client, new_email(), **forwarded("198.51.100.8"))
        assert (first.status_code, second.status_code) == (201, 201)
        self.assert_limited(register(client, new_email(), **forwarded("198.51.100.7")))
        # What the client wrote before the proxy's entry is never read.
        self.assert_limited(register(client, new_email(),
                                     **forwarded("203.0.113.77, 198.51.100.8")))

    def test_a_forwarded_address_from_an_untrusted_peer_is_ignored(self, auth):
        # No trusted proxies: rotating X-Forwarded-For must not make a new client.
        client = auth.start(rate_limits={"login": "2/minute"})
        for address in ("198.51.100.1", "198.51.100.2"):
            assert login(client, new_email(), **forwarded(address)).status_code == 401
        self.assert_limited(login(client, new_email(), **forwarded("198.51.100.3")))

    def test_a_peer_outside_the_trusted_networks_cannot_choose_its_address(self, auth):
        client = auth.start(rate_limits={"login": "2/minute"}, peer=("203.0.113.66", 4000),
                            http={"trusted_proxies": ["10.0.0.0/8"]})
        for address in ("198.51.100.1", "198.51.100.2"):
            assert login(client, new_email(), **forwarded(address)).status_code == 401
        self.assert_limited(login(client, new_email(), **forwarded("198.51.100.3")))

    def test_clients_behind_a_trusted_proxy_are_limited_one_by_one(self, auth):
        client = auth.start(rate_limits={"login": "2/minute"}, peer=("10.0.0.5", 4000),
                            http={"trusted_proxies": ["10.0.0.0/8"]})
        for address in ("198.51.100.1", "198.51.100.2", "198.51.100.3"):
            assert login(client, new_email(), **forwarded(address)).status_code == 401
        assert login(client, new_email(), **forwarded("198.51.100.1")).status_code == 401
        self.assert_limited(login(client, new_email(), **forwarded("198.51.100.1")))

    def test_confirm_is_rate_limited(self, auth):
        client = auth.start(rate_limits={"confirm": "1/minute"})
        body = {"email": new_email(), "code": "123456"}
        assert client.post(f"{AUTH_PATH}/confirm", json=body).status_code != 429
        self.assert_limited(client.post(f"{AUTH_PATH}/confirm", json=body))

    def test_resend_code_is_rate_limited_per_email(self, auth):
        client = auth.start(rate_limits={"resend_code": "1/minute"}, http=BEHIND_A_PROXY)
        email = new_email()
        first = client.post(f"{AUTH_PATH}/resend-code", json={"email": email},
                            headers=forwarded("198.51.100.1"))
        assert first.status_code == 202
        second = client.post(f"{AUTH_PATH}/resend-code", json={"email": email},
                             headers=forwarded("198.51.100.2"))
        self.assert_limited(second)

    # -- cross-site requests -----------------------------------------------------------------

    def test_a_foreign_origin_with_the_cookie_is_refused(self, client):
        signed_in(client)
        response = client.post(f"{AUTH_PATH}/logout", headers={"Origin": "https://evil.example"})
        assert response.status_code == 403
        assert client.get(f"{AUTH_PATH}/me").status_code == 200  # the session survived

    def test_an_allowed_or_same_origin_with_the_cookie_passes(self, client):
        for origin in (ALLOWED_ORIGIN, "https://testserver"):
            signed_in(client)
            response = client.post(f"{AUTH_PATH}/logout", headers={"Origin": origin})
            assert response.status_code == 204, origin
            assert client.get(f"{AUTH_PATH}/me").status_code == 401

    def test_cors_preflight_allows_credentials_for_configured_origins_only(self, client):
        preflight = {"Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"}
        allowed = client.options(f"{AUTH_PATH}/login", headers={"Origin": ALLOWED_ORIGIN,
                                                                 **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
        assert allowed.headers["access-control-allow-credentials"] == "true"
        foreign = client.options(f"{AUTH_PATH}/login", headers={"Origin": "https://evil.example",
                                                                 **preflight})
        assert foreign.status_code == 400
        assert "access-control-allow-origin" not in foreign.headers

    # -- the document ------------------------------------------------------------------------

    def test_the_auth_routes_are_documented(self, client):
        paths = client.get("/openapi.json").json()["paths"]
        for route in ("register", "confirm", "resend-code", "login", "refresh", "logout"):
            assert "post" in paths[f"{AUTH_PATH}/{route}"]
        assert paths[f"{AUTH_PATH}/me"]["get"]["security"] == [{"user": []}]
