"""The shared session pieces (`core.sessions`): input checks, the published password
policy, cookies, rate-limit settings."""

from __future__ import annotations

import re

import jsonschema
import jsonschema_rs
import pytest
from starlette.responses import Response

from core.schema import json_schema
from core.sessions import (
    AuthRateLimits,
    PasswordPolicy,
    SessionTokens,
    email_problem,
    name_problem,
    password_problem,
    register_request_class,
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
    PasswordPolicy(require_uppercase=False, require_lowercase=False, require_digit=False,
                   require_symbol=False),
]
CANDIDATES = [
    "SecurePass123!", "securepass123!", "SECUREPASS123!", "SecurePass!!!", "SecurePass123",
    "Aa1!", "Aa1!xyz", "ÉÉÉÉpass123!", "Passwort٣٣!A", "Pass word12", "Pass\nword12!",
    "line\u2028Sep1!a", "^$*.[]{}Aa1", "\\-]Aa1bbbb", "x" * 12, "Aa1!" * 64, "Aa1!" * 65,
    "тестПароль1!", "Aa1" + "\u00a0" * 5,
]


def password_schema(policy: PasswordPolicy) -> dict:
    components: dict = {}
    json_schema(register_request_class(policy), components)
    return components["RegisterRequest"]["properties"]["password"]


@pytest.mark.parametrize("policy", POLICIES, ids=str)
def test_the_published_password_schema_and_the_check_agree(policy):
    schema = password_schema(policy)
    assert schema["minLength"] == policy.min_length and schema["maxLength"] == 256
    python_dialect = jsonschema.Draft202012Validator(schema)
    ecma_dialect = jsonschema_rs.validator_for(schema)  # another regex engine, ECMA-like
    for password in CANDIDATES:
        accepted = password_problem(password, policy) is None
        assert python_dialect.is_valid(password) == accepted, (password, policy)
        assert ecma_dialect.is_valid(password) == accepted, (password, policy)


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
        "p.min_length: expected 1 to 256, got 257"]
    assert PasswordPolicy(min_length=0).problems("p")
    assert PasswordPolicy(min_length=256).problems("p") == []


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
