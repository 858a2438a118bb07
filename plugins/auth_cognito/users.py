"""The users table: who signed up or in through this API, as Cognito named them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.db import INTEGRITY_ERRORS, is_unique_violation
from plugins.auth_cognito.tables import CognitoUser


async def find_user(subject: str) -> dict[str, Any] | None:
    return await CognitoUser.select().where(CognitoUser.subject == subject).first()


async def save_user(subject: str, email: str, name: str) -> dict[str, Any]:
    """The user's row, created on first sight and kept in step with Cognito's profile."""
    row = await find_user(subject)
    if row is None:
        try:
            await CognitoUser.insert(CognitoUser(
                subject=subject, email=email, name=name, created_at=dt.datetime.now(dt.UTC)
            )).run()
        except INTEGRITY_ERRORS as exc:
            if not is_unique_violation(exc):  # else a concurrent sign-in created it first
                raise

        row = await find_user(subject)
        assert row is not None
    elif name and (row["email"], row["name"]) != (email, name):
        await CognitoUser.update({CognitoUser.email: email, CognitoUser.name: name}).where(
            CognitoUser.subject == subject
        ).run()
        row.update(email=email, name=name)
    return row
