"""Queries over the accounts and sessions tables. Tokens are only ever stored hashed."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine

from core.db import INTEGRITY_ERRORS, is_unique_violation, write_transaction
from plugins.auth_local.tables import LocalSession, LocalUser

log = logging.getLogger("itube.auth_local")


# One plain statement, not the ORM's join through the ForeignKey: every request with a
# session cookie runs it once per recheck interval.
LIVE_SESSION = (
    "SELECT s.session_id, s.expires_at, u.id AS user_id, u.email, u.name "
    "FROM auth_local_sessions s JOIN auth_local_users u ON u.id = s.account "
    "WHERE s.token_hash = {} AND s.kind = {} AND s.used_at IS NULL"
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def digest(secret: str) -> str:
    """sha256 hex of a token (256 random bits: no salt or stretching needed) or a code."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _expired(moment: dt.datetime | None) -> bool:
    return moment is None or utc(moment) <= now()


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
    except INTEGRITY_ERRORS as exc:
        if is_unique_violation(exc):
            return False
        raise
    return True


async def update_user(user_id: uuid.UUID, values: dict[Any, Any]) -> None:
    await LocalUser.update(values).where(LocalUser.id == user_id).run()


async def _lock_account(user_id: uuid.UUID) -> None:
    """Within a write transaction: wait for, then hold off, other changes to the account's
    sessions (a refresh and a sign-out), so neither works on what the other is replacing.
    SQLite's write transactions are serial already."""
    if not isinstance(LocalUser._meta.db, SQLiteEngine):
        await LocalUser.select(LocalUser.id).where(LocalUser.id == user_id).lock_rows().run()


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


async def rotate_refresh_token(
    token: str, *, access_ttl: int, refresh_ttl: int, reuse_grace: float
) -> tuple[uuid.UUID, str, str] | None:
    """Trade a live refresh token for a new pair of its session: (user id, access, refresh).

    One transaction, holding the account against a concurrent sign-out, marks the token
    used only if it was not (of concurrent trades of one token exactly one wins), ends the
    session's access token and issues the new pair.
    None for an unknown or expired token. A token traded more than `reuse_grace` seconds
    ago ends its session (reuse: the token was copied, and whoever shows it second may be
    the thief); within the grace it is only refused (the same client, racing itself)."""
    hashed = digest(token)
    owner = await LocalSession.select(LocalSession.account).where(
        (LocalSession.token_hash == hashed) & (LocalSession.kind == "refresh")
    ).first()
    if owner is None:
        return None
    async with write_transaction(LocalSession):
        await _lock_account(owner["account"])
        moment = now()
        claimed = await LocalSession.update({LocalSession.used_at: moment}).where(
            (LocalSession.token_hash == hashed) & (LocalSession.kind == "refresh")
            & LocalSession.used_at.is_null()
        ).returning(LocalSession.session_id, LocalSession.account, LocalSession.expires_at)
        if claimed and not _expired(claimed[0]["expires_at"]):
            session_id, user_id = claimed[0]["session_id"], claimed[0]["account"]
            # The old access token ends with the trade; used tokens of the session that
            # have expired are no longer needed to detect reuse.
            await LocalSession.delete().where(
                (LocalSession.session_id == session_id)
                & ((LocalSession.kind == "access") | (LocalSession.expires_at < moment))
            ).run()
            pair = await create_session(user_id, session_id, access_ttl=access_ttl,
                                        refresh_ttl=refresh_ttl)
            return user_id, *pair
    if not claimed:
        await _end_reused_session(hashed, reuse_grace)
    return None


async def _end_reused_session(hashed: str, grace: float) -> None:
    used = await LocalSession.select(LocalSession.session_id, LocalSession.used_at).where(
        (LocalSession.token_hash == hashed) & (LocalSession.kind == "refresh")
        & LocalSession.used_at.is_not_null()
    ).first()
    if used is None or not _expired(utc(used["used_at"]) + dt.timedelta(seconds=grace)):
        return
    log.warning("a refresh token was used again: its session is ended",
                extra={"session_id": str(used["session_id"])})
    await end_session(used["session_id"])


async def live_session(token: str, kind: str) -> dict[str, Any] | None:
    """The session row of an unexpired, unused token, with its account's id, e-mail and
    name."""
    rows = await LocalSession.raw(LIVE_SESSION, digest(token), kind)
    row = rows[0] if rows else None
    if row is None or _expired(row["expires_at"]):
        return None
    return row


async def end_session(session_id: uuid.UUID) -> None:
    await LocalSession.delete().where(LocalSession.session_id == session_id).run()


async def end_all_sessions(user_id: uuid.UUID) -> None:
    """Sign the user out everywhere, including a refresh under way: it either finishes
    first, and its new pair is deleted here, or finds its token gone."""
    async with write_transaction(LocalSession):
        await _lock_account(user_id)
        await LocalSession.delete().where(LocalSession.account == user_id).run()


async def drop_expired_sessions(user_id: uuid.UUID) -> None:
    rows = await LocalSession.select(LocalSession.token_hash, LocalSession.expires_at).where(
        LocalSession.account == user_id
    )
    stale = [row["token_hash"] for row in rows if _expired(row["expires_at"])]
    if stale:
        await LocalSession.delete().where(LocalSession.token_hash.is_in(stale)).run()


async def spend_code_attempt(email: str) -> dict[str, Any] | None:
    """Count one attempt against the pending confirmation code of `email`, in the same
    statement that reads it, so concurrent guesses each spend one: the row's id, the
    attempts now spent, the code's hash and expiry. None without a pending code."""
    rows = await LocalUser.update(
        {LocalUser.confirmation_attempts: LocalUser.confirmation_attempts + 1}
    ).where(
        (LocalUser.email == email) & (LocalUser.confirmed == False)  # noqa: E712
        & LocalUser.confirmation_code_hash.is_not_null()
    ).returning(
        LocalUser.id, LocalUser.confirmation_attempts, LocalUser.confirmation_code_hash,
        LocalUser.confirmation_expires_at,
    )
    return rows[0] if rows else None


def code_is_valid(user: dict[str, Any], code: str) -> bool:
    stored = user["confirmation_code_hash"]
    if not stored or _expired(user["confirmation_expires_at"]):
        return False
    return secrets.compare_digest(stored, digest(code))
