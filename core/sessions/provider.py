"""What a session provider implements, and the user authenticator its access cookie makes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from starlette.requests import Request

from core.auth import Actor
from core.context import AppContext
from core.sessions.cookies import SessionTokens, access_token_of
from core.sessions.forms import LoginRequest, RegisterRequest, UserProfile
from core.sessions.policy import SessionPolicy
from core.sessions.verified import VerifiedSessions, token_key, verified_state_key

# Where a request keeps its access token's `token_key`, so `/me` does not hash it again.
SESSION_KEY = "itube.session_key"


@runtime_checkable
class SessionProvider(Protocol):
    """Accounts and sessions for the auth routes. Methods raise `core.errors` problems."""

    name: str

    async def register(self, form: RegisterRequest) -> UserProfile: ...

    async def confirm(self, email: str, code: str) -> None: ...

    async def resend_code(self, email: str) -> None: ...

    async def login(self, form: LoginRequest) -> tuple[UserProfile, SessionTokens]: ...

    async def refresh(self, refresh_token: str) -> tuple[UserProfile, SessionTokens]: ...

    async def logout(self, access_token: str | None, refresh_token: str | None) -> str | None:
        """End every session of the user the cookies name; the user's id, None when the
        cookies named no live session."""
        ...

    async def profile(self, actor: Actor) -> UserProfile: ...

    async def actor_for(self, access_token: str) -> Actor | None:
        """The actor an access cookie stands for; None when it is invalid or revoked. Its
        `claims["exp"]` (epoch seconds) is the token's expiry: without it the answer is
        not kept between requests."""
        ...


class CookieAuthenticator:
    """The `UserAuthenticator` of a session provider: the access cookie names the actor,
    as the provider last said within the policy's `recheck_seconds`."""

    def __init__(self, provider: SessionProvider, verified: VerifiedSessions) -> None:
        self.provider = provider
        self.verified = verified
        self.name = provider.name

    async def authenticate(self, request: Request) -> Actor | None:
        token = access_token_of(request)
        if token is None:
            return None
        key = request.scope[SESSION_KEY] = token_key(token)
        return await self.verified.actor_by_key(key, token, self.provider.actor_for)


def session_key_of(request: Request) -> str:
    """The `token_key` of the request's access token, as its authentication found it."""
    key = request.scope.get(SESSION_KEY)
    return key if isinstance(key, str) else token_key(access_token_of(request) or "")


def verified_sessions(state: dict[str, object], state_key: str,
                      policy: SessionPolicy) -> VerifiedSessions:
    """The verified sessions of the provider in `state[state_key]`, shared by its
    authenticator and its routes."""
    key = verified_state_key(state_key)
    verified = state.get(key)
    if not isinstance(verified, VerifiedSessions):
        verified = state[key] = VerifiedSessions(policy.recheck_seconds)
    return verified


def session_authenticator(ctx: AppContext, state_key: str,
                          policy: SessionPolicy) -> CookieAuthenticator:
    """The authenticator of the provider in `ctx.state[state_key]` (each app start begins
    with no session verified)."""
    ctx.state.pop(verified_state_key(state_key), None)
    return CookieAuthenticator(ctx.state[state_key],
                               verified_sessions(ctx.state, state_key, policy))
