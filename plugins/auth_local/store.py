"""Queries over the accounts and sessions tables. Tokens are only ever stored hashed."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import sqlite3
import uuid
from typing import Any

import asyncpg

from plugins.auth_local.tables import LocalSession, LocalUser

UNIQUE_VIOLATIONS = (sqlite3.IntegrityError, asyncpg.UniqueViolationError)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(secret: str) -> str:
    """sha256 hex of a token (256 random bits: no salt or stretching needed) or a code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _expired(moment: dt.datetime | None) -> bool:
    if moment is None:
        return True
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment <= now()


async def user_by_email(email: str) -> dict[str, Any] | None:
    return await LocalUser.select().where(LocalUser.email == email).first()


async def user_by_id(user_id: str) -> dict[str, Any] | None:
    try:
        key = uuid.UUID(user_id)
    except ValueError:
        return None
    return await LocalUser.select().where(LocalUser.id == key).first()


async def insert_user(user: LocalUser) -> bool:
    """False when the e-mail address is taken."""
    try:
        await LocalUser.insert(user).run()
    except UNIQUE_VIOLATIONS:
        return False
    return True


async def update_user(user_id: uuid.UUID, values: dict[Any, Any]) -> None:
    await LocalUser.update(values).where(LocalUser.id == user_id).run()


async def create_session(
    user_id: uuid.UUID, session_id: uuid.UUID, *, access_ttl: int, refresh_ttl: int
) -> tuple[str, str]:
    """A new (access token, refresh token) pair for one session."""
    access, refresh = new_token(), new_token()
    moment = now()
    await LocalSession.insert(
        LocalSession(token_hash=digest(access), kind="access", session_id=session_id,
                     account=user_id, expires_at=moment + dt.timedelta(seconds=access_ttl),
                     created_at=moment),
        LocalSession(token_hash=digest(refresh), kind="refresh", session_id=session_id,
                     account=user_id, expires_at=moment + dt.timedelta(seconds=refresh_ttl),
                     created_at=moment),
    ).run()
    return access, refresh


async def live_session(token: str, kind: str) -> dict[str, Any] | None:
    """The session row of an unexpired token, with its account's id, e-mail and name."""
    row = await LocalSession.select(
        LocalSession.session_id,
        LocalSession.expires_at,
        LocalSession.account.id.as_alias("user_id"),
        LocalSession.account.email.as_alias("email"),
        LocalSession.account.name.as_alias("name"),
    ).where((LocalSession.token_hash == digest(token)) & (LocalSession.kind == kind)).first()
    if row is None or _expired(row["expires_at"]):
        return None
    return row


async def end_session(session_id: uuid.UUID) -> None:
    await LocalSession.delete().where(LocalSession.session_id == session_id).run()


async def end_all_sessions(user_id: uuid.UUID) -> None:
    await LocalSession.delete().where(LocalSession.account == user_id).run()


async def drop_expired_sessions(user_id: uuid.UUID) -> None:
    rows = await LocalSession.select(LocalSession.token_hash, LocalSession.expires_at).where(
        LocalSession.account == user_id
    )
    stale = [row["token_hash"] for row in rows if _expired(row["expires_at"])]
    if stale:
        await LocalSession.delete().where(LocalSession.token_hash.is_in(stale)).run()


def code_is_valid(user: dict[str, Any], code: str) -> bool:
    stored = user["confirmation_code_hash"]
    if not stored or _expired(user["confirmation_expires_at"]):
        return False
    return secrets.compare_digest(stored, digest(code))
