"""The input checks on the auth bodies: each field's problem, and each body normalised or
refused with a 422 naming its fields."""

from __future__ import annotations

import re
from typing import Any

import attrs

from core.errors import ValidationFailed
from core.schema import text_problem
from core.sessions.forms import (
    CODE,
    PASSWORD_EXAMPLE,
    ConfirmRequest,
    LoginRequest,
    RegisterRequest,
    ResendCodeRequest,
)
from core.sessions.policy import PasswordPolicy

# The HTML living standard's e-mail grammar (what browsers accept in <input type=email>).
EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> str | None:
    if not email:
        return "is required"
    if len(email) > 254 or not EMAIL.fullmatch(email):
        return "must be an e-mail address like name@example.com"
    return None


def password_problem(password: str, policy: PasswordPolicy) -> str | None:
    """What `password` lacks under `policy`: the very classes its published pattern checks."""
    if len(password) < policy.min_length:
        return f"must be at least {policy.min_length} characters"
    if len(password) > policy.max_length:
        return f"must be at most {policy.max_length} characters"
    missing = [what for chars, what in policy.required_classes()
               if not re.search(f"[{chars}]", password)]
    return f"must contain {', '.join(missing)}" if missing else None


def name_problem(name: str) -> str | None:
    if not name:
        return "is required"
    if len(name) > 100:
        return "must be at most 100 characters"
    return text_problem(name, "line")


def _raise_if_any(problems: dict[str, str | None]) -> None:
    errors = [{"field": field, "message": text} for field, text in problems.items() if text]
    if errors:
        raise ValidationFailed(errors)


def register_request_class(policy: PasswordPolicy) -> type[RegisterRequest]:
    """The register body with `policy` published on its `password` (minLength, maxLength
    and the lookahead pattern), so the document promises what `password_problem` checks."""
    schema: dict[str, Any] = {"minLength": policy.min_length, "maxLength": policy.max_length}
    pattern = policy.pattern()
    if pattern is not None:
        schema["pattern"] = pattern
    if password_problem(PASSWORD_EXAMPLE, policy) is None:
        schema["example"] = PASSWORD_EXAMPLE
    password = attrs.field(type=str, metadata=schema)
    return attrs.make_class(RegisterRequest.__name__, {"password": password},
                            bases=(RegisterRequest,), slots=True)


def check_registration(form: RegisterRequest, policy: PasswordPolicy) -> RegisterRequest:
    """The form with its e-mail normalised and its name trimmed, or a 422 naming each field."""
    form = RegisterRequest(
        name=form.name.strip(), email=normalize_email(form.email), password=form.password
    )
    _raise_if_any({
        "name": name_problem(form.name),
        "email": email_problem(form.email),
        "password": password_problem(form.password, policy),
    })
    return form


def check_login(form: LoginRequest) -> LoginRequest:
    form = LoginRequest(email=normalize_email(form.email), password=form.password)
    _raise_if_any({
        "email": None if form.email else "is required",
        "password": None if form.password else "is required",
    })
    return form


def check_confirmation(form: ConfirmRequest) -> ConfirmRequest:
    form = ConfirmRequest(email=normalize_email(form.email), code=form.code)
    _raise_if_any({
        "email": email_problem(form.email),
        "code": None if CODE.fullmatch(form.code) else "must be the 4 to 10 digit code sent",
    })
    return form


def check_resend_request(form: ResendCodeRequest) -> ResendCodeRequest:
    form = ResendCodeRequest(email=normalize_email(form.email))
    _raise_if_any({"email": email_problem(form.email)})
    return form
