"""Accounts and sessions in our own database (the `core.sessions.SessionProvider`).

Passwords are argon2id hashes; session tokens are opaque random strings stored as their
sha256, expiring, and revoked by deleting their rows. Sign-out ends every session of the
user, like Cognito's global sign-out. A refresh trades the refresh token for a new pair,
once: shown again, it ends its session. A confirmation code may be tried
`confirmation_attempts` times (counted in the account's row, so the count survives
restarts and cache outages and is shared by every process); a new code starts over.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from core.auth import Actor
from core.errors import Conflict, Forbidden, Unauthorized, ValidationFailed
from core.sessions import LoginRequest, RegisterRequest, SessionTokens, UserProfile
from plugins.auth_local import store
from plugins.auth_local.config import LocalAuthSettings
from plugins.auth_local.passwords import Passwords
from plugins.auth_local.tables import LocalUser

PROVIDER = "local"
WRONG_CREDENTIALS = "Incorrect e-mail address or password"
SESSION_ENDED = "Your session has ended; sign in again"
WRONG_CODE = "The code is wrong or has expired"
TOO_MANY_CODES = "Too many wrong codes for this address; ask for a new code"
# deliver(email, name, code): hands a confirmation code to whoever sends it.
Deliver = Callable[[str, str, str], Awaitable[None]]


class LocalSessions:
    """Sign-up, confirmation, sign-in, refresh, sign-out and the profile, on our tables."""

    name = PROVIDER

    def __init__(self, settings: LocalAuthSettings, passwords: Passwords, deliver: Deliver):
        self.settings = settings
        self.passwords = passwords
        self.deliver = deliver

    @property
    def _codes(self) -> bool:
        return self.settings.confirmation == "code"

    async def register(self, form: RegisterRequest) -> UserProfile:
        if await store.user_by_email(form.email) is not None:
            raise Conflict("An account with this e-mail address already exists")
        code = store.new_code() if self._codes else None
        user = LocalUser(
            id=uuid.uuid4(),
            email=form.email,
            name=form.name,
            password_hash=await self.passwords.hash(form.password),
            confirmed=code is None,
            created_at=store.now(),
            **self._code_columns(code),
        )
        if not await store.insert_user(user):
            raise Conflict("An account with this e-mail address already exists")
        if code is not None:
            await self.deliver(form.email, form.name, code)
        row = await store.user_by_email(form.email)
        assert row is not None
        return _profile(row)

    async def confirm(self, email: str, code: str) -> None:
        attempt = await store.spend_code_attempt(email)
        if attempt is None:
            user = await store.user_by_email(email)
            if user is not None and user["confirmed"]:
                return  # confirmed already: confirming again changes nothing
            raise ValidationFailed.field("code", WRONG_CODE)
        if attempt["confirmation_attempts"] > self.settings.confirmation_attempts:
            raise ValidationFailed.field("code", TOO_MANY_CODES)
        if not store.code_is_valid(attempt, code):
            raise ValidationFailed.field("code", WRONG_CODE)
        await store.update_user(attempt["id"], {
            LocalUser.confirmed: True,
            LocalUser.confirmation_code_hash: None,
            LocalUser.confirmation_expires_at: None,
            LocalUser.confirmation_attempts: 0,
        })

    async def resend_code(self, email: str) -> None:
        user = await store.user_by_email(email)
        if not self._codes or user is None or user["confirmed"]:
            return  # the answer must not tell an unknown account from a confirmed one
        code = store.new_code()
        await store.update_user(user["id"], {
            getattr(LocalUser, column): value for column, value in self._code_columns(code).items()
        })
        await self.deliver(email, user["name"], code)

    async def login(self, form: LoginRequest) -> tuple[UserProfile, SessionTokens]:
        user = await store.user_by_email(form.email)
        stored = user["password_hash"] if user else None
        if not await self.passwords.verify(stored, form.password) or user is None:
            raise Unauthorized(WRONG_CREDENTIALS)
        if not user["confirmed"]:
            raise Forbidden("Confirm your e-mail address before signing in")
        if self.passwords.needs_rehash(user["password_hash"]):
            new_hash = await self.passwords.hash(form.password)
            await store.update_user(user["id"], {LocalUser.password_hash: new_hash})
        await store.drop_expired_sessions(user["id"])
        return _profile(user), await self._new_tokens(user["id"], uuid.uuid4())

    async def refresh(self, refresh_token: str) -> tuple[UserProfile, SessionTokens]:
        access_ttl = self.settings.access_token_seconds
        refresh_ttl = self.settings.refresh_token_days * 86400
        # Rotation: the old pair stops working as the new one is issued.
        rotated = await store.rotate_refresh_token(
            refresh_token, access_ttl=access_ttl, refresh_ttl=refresh_ttl,
            reuse_grace=self.settings.refresh_reuse_grace_seconds,
        )
        if rotated is None:
            raise Unauthorized(SESSION_ENDED)
        user_id, access, refresh = rotated
        user = await store.user_by_id(str(user_id))
        if user is None:
            raise Unauthorized(SESSION_ENDED)
        return _profile(user), SessionTokens(access, access_ttl, refresh, refresh_ttl)

    async def logout(self, access_token: str | None, refresh_token: str | None) -> str | None:
        for token, kind in ((access_token, "access"), (refresh_token, "refresh")):
            session = await store.live_session(token, kind) if token else None
            if session is not None:
                await store.end_all_sessions(session["user_id"])
                return str(session["user_id"])
        return None

    async def profile(self, actor: Actor) -> UserProfile:
        user = await store.user_by_id(actor.id) if actor.provider == PROVIDER else None
        if user is None:
            raise Unauthorized("Sign in to use this route")
        return _profile(user)

    async def actor_for(self, access_token: str) -> Actor | None:
        session = await store.live_session(access_token, "access")
        if session is None:
            return None
        return Actor(
            id=str(session["user_id"]),
            provider=PROVIDER,
            email=session["email"],
            name=session["name"],
            claims={"session_id": str(session["session_id"]),
                    "exp": store.utc(session["expires_at"]).timestamp()},
        )

    async def _new_tokens(self, user_id: uuid.UUID, session_id: uuid.UUID) -> SessionTokens:
        access_ttl = self.settings.access_token_seconds
        refresh_ttl = self.settings.refresh_token_days * 86400
        access, refresh = await store.create_session(
            user_id, session_id, access_ttl=access_ttl, refresh_ttl=refresh_ttl
        )
        return SessionTokens(access, access_ttl, refresh, refresh_ttl)

    def _code_columns(self, code: str | None) -> dict[str, Any]:
        if code is None:
            return {}
        lifetime = dt.timedelta(minutes=self.settings.confirmation_code_minutes)
        return {
            "confirmation_code_hash": store.digest(code),
            "confirmation_expires_at": store.now() + lifetime,
            "confirmation_attempts": 0,
        }


def _profile(row: dict[str, Any]) -> UserProfile:
    return UserProfile(
        id=str(row["id"]),
        email=row["email"],
        name=row["name"],
        provider=PROVIDER,
        confirmed=bool(row["confirmed"]),
        created_at=row["created_at"],
    )
