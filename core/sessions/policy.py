"""The providers' session settings: the password policy, the rate limits, Secure cookies."""

from __future__ import annotations

from typing import Any

import attrs

from core.ratelimit import Limit

MAX_PASSWORD_LENGTH = 256
DEFAULT_RECHECK_SECONDS = 1.0
# A sign-out must reach every process soon: a longer bound is refused at start-up.
MAX_RECHECK_SECONDS = 60.0
# Cognito's password character classes (basic Latin letters, ASCII digits, its symbols), so
# a password this API accepts is one the pool accepts too.
SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- "


def _class_escape(characters: str) -> str:
    """`characters` written inside a regex character class, valid in Python and ECMA-262."""
    return "".join(f"\\{char}" if char in "\\]-[^" else char for char in characters)


# (setting, the class inside [...], what the error message calls it)
CHARACTER_CLASSES = (
    ("require_uppercase", "A-Z", "an uppercase letter"),
    ("require_lowercase", "a-z", "a lowercase letter"),
    ("require_digit", "0-9", "a digit"),
    ("require_symbol", _class_escape(SYMBOLS), "a symbol"),
)


@attrs.define
class PasswordPolicy:
    # Checked before the provider sees the password; keep it equal to the provider's own.
    # Published in the OpenAPI document (minLength and a pattern) for clients to check.
    min_length: int = 8
    # Cognito's own limit is 256 (the embedded default's emulator refuses 99 or more).
    max_length: int = MAX_PASSWORD_LENGTH
    # An uppercase letter A-Z.
    require_uppercase: bool = True
    # A lowercase letter a-z.
    require_lowercase: bool = True
    # A digit 0-9.
    require_digit: bool = True
    # One of Cognito's symbols: ^ $ * . [ ] { } ( ) ? " ! @ # % & / \ , > < ' : ; | _ ~ ` = + -
    # or a space.
    require_symbol: bool = True

    def required_classes(self) -> list[tuple[str, str]]:
        """(character class, its name) of each kind of character a password must hold."""
        return [(chars, what) for setting, chars, what in CHARACTER_CLASSES
                if getattr(self, setting)]

    def pattern(self) -> str | None:
        """One lookahead per required class: the JSON Schema `pattern` of a password, the
        same in Python's and ECMA-262's dialects (no `.`, whose line breaks differ)."""
        lookaheads = [f"(?=[^{chars}]*[{chars}])" for chars, _ in self.required_classes()]
        return "^" + "".join(lookaheads) if lookaheads else None

    def problems(self, prefix: str) -> list[str]:
        """Messages for a policy no password could meet (for a plugin's `config_problems`)."""
        if 1 <= self.min_length <= self.max_length <= MAX_PASSWORD_LENGTH:
            return []
        return [f"{prefix}.min_length, max_length: expected 1 <= min_length <= max_length <= "
                f"{MAX_PASSWORD_LENGTH}, got {self.min_length} and {self.max_length}"]


@attrs.define
class AuthRateLimits:
    """Limits like "10/minute", "100/hour", "3/30s", or "off". Every route that spends a
    credential or a provider call counts per client address, and per e-mail address where
    the body names an account."""

    # Per client address.
    register: str = "10/minute"
    # Per e-mail address, whatever the client address.
    register_per_email: str = "5/hour"
    # Per client address.
    login: str = "30/minute"
    # Per e-mail address, whatever the client address (credential stuffing, guessing).
    login_per_email: str = "5/minute"
    # Per client address.
    confirm: str = "10/minute"
    # Per e-mail address, whatever the client address (code guessing, with the provider's
    # attempts per code).
    confirm_per_email: str = "10/hour"
    # Per client address and, separately, per e-mail address.
    resend_code: str = "3/minute"
    # Per client address: each refresh cookie, forged or not, costs a provider call.
    refresh: str = "60/minute"
    # Per client address: a sign-out costs provider calls too.
    logout: str = "30/minute"

    def parsed(self) -> dict[str, Limit | None]:
        return {field.name: Limit.parse(getattr(self, field.name))
                for field in attrs.fields(AuthRateLimits)}

    def problems(self, prefix: str) -> list[str]:
        """Messages for limits that do not parse (for a plugin's `config_problems`)."""
        problems = []
        for field in attrs.fields(AuthRateLimits):
            try:
                Limit.parse(getattr(self, field.name))
            except ValueError as exc:
                problems.append(f"{prefix}.{field.name}: {exc}")
        return problems


@attrs.frozen
class SessionPolicy:
    """What the shared routes need from the provider's settings."""

    secure_cookies: bool
    password: PasswordPolicy = attrs.Factory(PasswordPolicy)
    rate_limits: AuthRateLimits = attrs.Factory(AuthRateLimits)
    # How long a process answers a verified session from memory before asking the
    # provider again: the longest another process may accept a session signed out.
    recheck_seconds: float = DEFAULT_RECHECK_SECONDS

    @classmethod
    def of(cls, settings: Any) -> SessionPolicy:
        """From a provider's settings, which name these `secure_cookies`, `password_policy`,
        `rate_limits` and `session_recheck_seconds`."""
        return cls(secure_cookies=settings.secure_cookies, password=settings.password_policy,
                   rate_limits=settings.rate_limits,
                   recheck_seconds=settings.session_recheck_seconds)

    def problems(self, prefix: str, *, production: bool) -> list[str]:
        """Messages for the provider's `config_problems`: limits that do not parse, a
        password policy nothing meets, cookies without Secure in production."""
        problems = [*self.rate_limits.problems(f"{prefix}.rate_limits"),
                    *self.password.problems(f"{prefix}.password_policy")]
        if not 0 <= self.recheck_seconds <= MAX_RECHECK_SECONDS:
            problems.append(f"{prefix}.session_recheck_seconds: expected 0 to "
                            f"{MAX_RECHECK_SECONDS}, got {self.recheck_seconds}")
        if production and not self.secure_cookies:
            problems.append(f"{prefix}.secure_cookies = false is for local development only; "
                            "production cookies must be Secure")
        return problems
