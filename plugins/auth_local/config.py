"""Settings of the local password provider (`[plugins.auth_local]`)."""

from __future__ import annotations

from typing import Literal

import attrs

from core.sessions import AuthRateLimits, PasswordPolicy
from core.sessions.policy import DEFAULT_RECHECK_SECONDS


@attrs.define
class LocalAuthSettings:
    # Mark the session cookies Secure. Only a local development config may turn this off.
    secure_cookies: bool = True
    # How long a process trusts a session it verified before checking it again: a
    # sign-out is refused at once by the process that handled it and by every other
    # process within this many seconds. 0 checks every request; at most 60.
    session_recheck_seconds: float = DEFAULT_RECHECK_SECONDS
    # Lifetime of an access token (and its cookie).
    access_token_seconds: int = 3600
    # Lifetime of a refresh token (and its cookie); each refresh issues a new one.
    refresh_token_days: int = 30
    # A refresh token shown again after it was traded ends its session (reuse detection),
    # unless it comes back within this many seconds: then it is only refused, since that
    # is one client sending two refreshes at once (two tabs), not a copied token.
    refresh_reuse_grace_seconds: int = 2
    # "none": an account can sign in as soon as it is registered. "code": a 6-digit code
    # goes to the `deliver_confirmation_code` hook (a mail plugin) and must be confirmed.
    confirmation: Literal["none", "code"] = "none"
    # How long a confirmation code stays valid.
    confirmation_code_minutes: int = 1440
    # Codes that may be tried against one confirmation code; then it no longer confirms
    # and only a new code (resend-code) does.
    confirmation_attempts: int = 5
    # argon2id passes (RFC 9106). Raise the costs as far as the sign-in latency allows; a
    # hash made with older costs is redone at its next sign-in.
    argon2_time_cost: int = 3
    # argon2id memory per hash, in KiB (64 MiB: each sign-in in flight holds this much).
    argon2_memory_kib: int = 65536
    # argon2id lanes (threads) per hash.
    argon2_parallelism: int = 4
    # What a new password must contain.
    password_policy: PasswordPolicy = attrs.Factory(PasswordPolicy)
    # Rate limits of the sign-up and sign-in routes.
    rate_limits: AuthRateLimits = attrs.Factory(AuthRateLimits)
