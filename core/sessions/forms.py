"""The bodies the auth routes read and write, with the JSON Schema each field publishes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import attrs

from core.schema import TEXT_PATTERNS
from core.sessions.policy import MAX_PASSWORD_LENGTH

# The field patterns the schema publishes and `core.sessions.validation` enforces.
CODE = re.compile(r"[0-9]{4,10}")
# A name holds something besides spaces (the server trims it) and no control or
# bidirectional character.
NAME_PATTERN = "^(?=.*\\S)" + TEXT_PATTERNS["line"].removeprefix("^")
PASSWORD_EXAMPLE = "SecurePass123!"


def _doc(**schema: Any) -> Any:
    """A required field documented in the JSON Schema; `core.sessions.validation` checks it."""
    return attrs.field(metadata=schema)


@attrs.define
class RegisterRequest:
    """A new account."""

    name: str = _doc(minLength=1, maxLength=100, pattern=NAME_PATTERN, example="Test User")
    email: str = _doc(format="email", maxLength=254, example="test@example.com")
    # The routes publish the configured policy instead (`register_request_class`).
    password: str = _doc(minLength=8, maxLength=MAX_PASSWORD_LENGTH, example=PASSWORD_EXAMPLE)


@attrs.define
class LoginRequest:
    email: str = _doc(format="email", minLength=1, example="test@example.com")
    password: str = _doc(minLength=1, example="SecurePass123!")


@attrs.define
class ConfirmRequest:
    email: str = _doc(format="email", example="test@example.com")
    code: str = _doc(pattern=f"^{CODE.pattern}$", example="123456")


@attrs.define
class ResendCodeRequest:
    email: str = _doc(format="email", example="test@example.com")


@attrs.define
class UserProfile:
    """A user as the auth provider knows them. `id` is the provider's subject."""

    id: str
    email: str
    name: str
    provider: str
    confirmed: bool
    created_at: dt.datetime | None = None


@attrs.define
class SessionInfo:
    """The signed-in user; the tokens travel only in HttpOnly cookies."""

    user: UserProfile
    # Seconds until the access cookie expires; refresh before then.
    expires_in: int


@attrs.define
class ConfirmResult:
    email: str
    confirmed: bool


@attrs.define
class Accepted:
    detail: str
