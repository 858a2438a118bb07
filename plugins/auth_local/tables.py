"""Accounts and sessions of the local password provider."""

from __future__ import annotations

from piccolo.columns import UUID, Boolean, ForeignKey, Integer, OnDelete, Timestamptz, Varchar
from piccolo.table import Table


class LocalUser(Table, tablename="auth_local_users"):
    """An account: the argon2id hash of its password, never the password."""

    id = UUID(primary_key=True)
    email = Varchar(length=254, unique=True)
    name = Varchar(length=100, default="")
    password_hash = Varchar(length=255)
    confirmed = Boolean(default=False)
    # sha256 of the pending confirmation code, when confirmation by code is on.
    confirmation_code_hash = Varchar(length=64, null=True, default=None)
    confirmation_expires_at = Timestamptz(null=True, default=None)
    # Codes tried against the pending code; past the limit it no longer confirms.
    confirmation_attempts = Integer(default=0)
    created_at = Timestamptz()


class LocalSession(Table, tablename="auth_local_sessions"):
    """One opaque token, stored as its sha256. A sign-in makes an access and a refresh
    token sharing a `session_id` (the session family); each refresh replaces both. A
    refresh token already traded is kept, marked `used_at`, until it expires: shown again,
    it ends its family (reuse detection)."""

    token_hash = Varchar(length=64, unique=True)
    # "access" or "refresh".
    kind = Varchar(length=8)
    session_id = UUID(index=True)
    account = ForeignKey(LocalUser, on_delete=OnDelete.cascade, index=True)
    expires_at = Timestamptz()
    created_at = Timestamptz()
    # When a refresh token was traded for a new pair; None while it is live.
    used_at = Timestamptz(null=True, default=None)
