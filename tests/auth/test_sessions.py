"""The shared session pieces (`core.sessions`): input checks, the published password
policy, cookies (set, and read from the request), rate-limit settings."""

from __future__ import annotations

import re

import jsonschema
import jsonschema_rs
import pytest
from starlette.requests import Request
from starlette.responses import Response

from core.errors import ValidationFailed
from core.schema import json_schema
from core.sessions import (
    AuthRateLimits,
    ConfirmRequest,
    LoginRequest,
    PasswordPolicy,
    RegisterRequest,
    SessionTokens,
    check_confirmation,
    check_login,
    check_registration,
    email_problem,
    name_problem,
    password_problem,
    register_request_class,
    set_session_cookies,
)
from core.sessions.cookies import access_token_of, refresh_token_of


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
    assert name_problem("Zoë Ødegård-李") is None
    assert name_problem("")
    assert name_problem("x" * 101)
    assert name_problem("line\nbreak")


@pytest.mark.parametrize("name", [
    "evil\u202egnp.exe", "isolate\u2066d", "esc\x1b[31m", "c1\x85control", "del\x7f", "nul\x00",
])
def test_names_with_control_or_bidirectional_characters_are_refused(name):
    assert name_problem(name)


def test_the_password_policy_accepts_only_the_pools_character_classes():
    policy = PasswordPolicy()
    # Cognito counts basic Latin letters and ASCII digits only.
    assert "an uppercase letter" in password_problem("ÉÉÉÉpass123!", policy)
    assert "a digit" in password_problem("Passwort٣٣!", policy)
    assert password_problem("Pass word12", policy) is None  # the space is a symbol


POLICIES = [
    PasswordPolicy(),
    PasswordPolicy(min_length=12, require_symbol=False),
    PasswordPolicy(min_length=4, require_uppercase=False, require_digit=False),
    PasswordPolicy(max_length=98),
    PasswordPolicy(require_uppercase=False, require_lowercase=False, require_digit=False,
                   require_symbol=False),
]
CANDIDATES = [
    "SecurePass123!", "securepass123!", "SECUREPASS123!", "SecurePass!!!", "SecurePass123",
    "Aa1!", "Aa1!xyz", "ÉÉÉÉpass123!", "Passwort٣٣!A", "Pass word12", "Pass\nword12!",
    "line\u2028Sep1!a", "^$*.[]{}Aa1", "\\-]Aa1bbbb", "x" * 12, "Aa1!" * 64, "Aa1!" * 65,
    "тестПароль1!", "Aa1" + "\u00a0" * 5, "Aa1!" + "x" * 94, "Aa1!" + "x" * 95,
]


def password_schema(policy: PasswordPolicy) -> dict:
    components: dict = {}
    json_schema(register_request_class(policy), components)
    return components["RegisterRequest"]["properties"]["password"]


@pytest.mark.parametrize("policy", POLICIES, ids=str)
def test_the_published_password_schema_and_the_check_agree(policy):
    schema = password_schema(policy)
    assert schema["minLength"] == policy.min_length
    assert schema["maxLength"] == policy.max_length
    python_dialect = jsonschema.Draft202012Validator(schema)
    ecma_dialect = jsonschema_rs.validator_for(schema)  # another regex engine, ECMA-like
    for password in CANDIDATES:
        accepted = password_problem(password, policy) is None
        assert python_dialect.is_valid(password) == accepted, (password, policy)
        assert ecma_dialect.is_valid(password) == accepted, (password, policy)


def _published(cls: type, field: str) -> jsonschema.Draft202012Validator:
    components: dict = {}
    json_schema(cls, components)
    return jsonschema.Draft202012Validator(components[cls.__name__]["properties"][field])


def _server_accepts(check, form) -> bool:
    try:
        check(form)
    except ValidationFailed:
        return False
    return True


@pytest.mark.parametrize("code", ["123456", "1234", "1234567890", "123", "12345678901",
                                  " 123456", "123456 ", "12a456", "١٢٣٤٥٦", ""])
def test_the_published_code_pattern_and_the_check_agree(code):
    form = ConfirmRequest(email="ann@example.com", code=code)
    assert _published(ConfirmRequest, "code").is_valid(code) == _server_accepts(
        check_confirmation, form)


@pytest.mark.parametrize("password", ["", "x", "SecurePass123!"])
def test_the_published_login_password_and_the_check_agree(password):
    form = LoginRequest(email="ann@example.com", password=password)
    assert _published(LoginRequest, "password").is_valid(password) == _server_accepts(
        check_login, form)


@pytest.mark.parametrize("name", ["Ann", " Ann ", " ", "\u3000", "A\u202eB", "A\x07"])
def test_the_published_name_and_the_check_agree(name):
    form = RegisterRequest(name=name, email="ann@example.com", password="SecurePass123!")
    accepted = name_problem(name.strip()) is None
    assert _published(RegisterRequest, "name").is_valid(name) == accepted
    assert _server_accepts(lambda f: check_registration(f, PasswordPolicy()), form) == accepted


def test_the_pattern_names_each_required_class_and_nothing_else():
    assert "pattern" not in password_schema(POLICIES[-1])
    pattern = password_schema(PasswordPolicy(require_symbol=False))["pattern"]
    assert pattern == "^(?=[^A-Z]*[A-Z])(?=[^a-z]*[a-z])(?=[^0-9]*[0-9])"
    re.compile(pattern)


def test_the_example_is_shown_only_when_the_policy_accepts_it():
    assert password_schema(PasswordPolicy())["example"] == "SecurePass123!"
    assert "example" not in password_schema(PasswordPolicy(min_length=20))


def test_a_policy_no_password_can_meet_is_reported():
    assert PasswordPolicy(min_length=257).problems("p") == [
        "p.min_length, max_length: expected 1 <= min_length <= max_length <= 256, "
        "got 257 and 256"]
    assert PasswordPolicy(min_length=0).problems("p")
    assert PasswordPolicy(min_length=10, max_length=9).problems("p")
    assert PasswordPolicy(max_length=257).problems("p")
    assert PasswordPolicy(min_length=256).problems("p") == []
    assert PasswordPolicy(min_length=8, max_length=98).problems("p") == []


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


def test_rate_limit_settings_report_each_bad_value():
    problems = AuthRateLimits(login="lots", confirm="1/fortnight").problems("p.rate_limits")
    assert [problem.split(":")[0] for problem in problems] == [
        "p.rate_limits.login", "p.rate_limits.confirm"]


@pytest.mark.parametrize("headers", [
    [],
    [(b"cookie", b"access_token=abc.def.ghi")],
    [(b"cookie", b"theme=dark; access_token=abc; refresh_token=xyz")],
    [(b"cookie", b"theme=dark"), (b"cookie", b"access_token=second-header")],
    [(b"cookie", b'access_token="quoted\\054value"')],
    [(b"cookie", b"access_token=; other=1")],
    [(b"cookie", b"access_token=first; access_token=last")],
    [(b"cookie", b"\xe9t\xe9=caf\xe9; access_token=after-latin-1")],
    [(b"cookie", b"malformed; =novalue; access_token=ok")],
])
def test_the_session_cookies_read_as_starlette_reads_them(headers):
    def request() -> Request:
        return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})

    expected = request().cookies
    for read, name in ((access_token_of, "access_token"), (refresh_token_of, "refresh_token")):
        one = request()
        assert read(one) == (expected.get(name) or None)
        assert read(one) == (expected.get(name) or None)  # again, from what was kept
