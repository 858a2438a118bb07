"""The shared session pieces (`core.sessions`): input checks, cookies, client address."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import Response

from core.sessions import (
    AuthRateLimits,
    PasswordPolicy,
    SessionTokens,
    client_address,
    email_problem,
    name_problem,
    password_problem,
    set_session_cookies,
)


@pytest.mark.parametrize("email", ["a@example.com", "first.last+tag@sub.example.co.uk",
                                   "x@example-domain.io"])
def test_good_emails(email):
    assert email_problem(email) is None


@pytest.mark.parametrize("email", ["", "a", "a@", "@b.c", "a@b", "a b@c.de", "a@b..c",
                                   "a@-b.com", "a" * 250 + "@b.cd"])
def test_bad_emails(email):
    assert email_problem(email)


def test_the_password_policy_names_what_is_missing():
    policy = PasswordPolicy()
    assert password_problem("SecurePass123!", policy) is None
    assert password_problem("securepass", policy) == (
        "must contain an uppercase letter, a digit, a symbol")
    assert "at least 8" in password_problem("Aa1!", policy)
    assert "at most 256" in password_problem("Aa1!" * 65, policy)
    relaxed = PasswordPolicy(min_length=4, require_uppercase=False, require_symbol=False)
    assert password_problem("abc1", relaxed) is None


def test_names():
    assert name_problem("Ada") is None
    assert name_problem("")
    assert name_problem("x" * 101)
    assert name_problem("line\nbreak")


def test_cookie_attributes():
    response = Response()
    set_session_cookies(response, SessionTokens("acc", 300, "ref", 900), secure=True)
    access, refresh = response.headers.getlist("set-cookie")
    assert access == "access_token=acc; HttpOnly; Max-Age=300; Path=/; SameSite=lax; Secure"
    assert refresh == ("refresh_token=ref; HttpOnly; Max-Age=900; Path=/api/v1/auth; "
                       "SameSite=lax; Secure")


def test_a_refresh_that_did_not_rotate_leaves_the_refresh_cookie_alone():
    response = Response()
    set_session_cookies(response, SessionTokens("acc", 300), secure=False)
    (only,) = response.headers.getlist("set-cookie")
    assert only.startswith("access_token=acc;") and "Secure" not in only


def request_from(peer: str, headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return Request({"type": "http", "headers": raw, "client": (peer, 1234)})


def test_the_client_address_is_the_peer_unless_a_trusted_header_is_named():
    request = request_from("10.0.0.5", {"X-Forwarded-For": "6.6.6.6, 198.51.100.9"})
    assert client_address(request) == "10.0.0.5"
    # The proxy appends the address it saw: the last entry is the one it vouches for.
    assert client_address(request, "x-forwarded-for") == "198.51.100.9"
    assert client_address(request_from("10.0.0.5", {}), "x-forwarded-for") == "10.0.0.5"


def test_rate_limit_settings_report_each_bad_value():
    problems = AuthRateLimits(login="lots", confirm="1/fortnight").problems("p.rate_limits")
    assert [problem.split(":")[0] for problem in problems] == [
        "p.rate_limits.login", "p.rate_limits.confirm"]
