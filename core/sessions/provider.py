"""What a session provider implements, and the user authenticator its access cookie makes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from starlette.requests import Request

from core.auth import Actor
from core.sessions.cookies import SessionTokens, access_token_of
from core.sessions.forms import LoginRequest, RegisterRequest, UserProfile


@runtime_checkable
class SessionProvider(Protocol):
    """Accounts and sessions for the auth routes. Methods raise `core.errors` problems."""

    name: str

    async def register(self, form: RegisterRequest) -> UserProfile: ...

    async def confirm(self, email: str, code: str) -> None: ...

    async def resend_code(self, email: str) -> None: ...

    async def login(self, form: LoginRequest) -> tuple[UserProfile, SessionTokens]: ...

    async def refresh(self, refresh_token: str) -> tuple[UserProfile, SessionTokens]: ...

    async def logout(self, access_token: str | None, refresh_token: str | None) -> None: ...

    async def profile(self, actor: Actor) -> UserProfile: ...

    async def actor_for(self, access_token: str) -> Actor | None:
        """The actor an access cookie stands for; None when it is invalid or revoked."""
        ...


class CookieAuthenticator:
    """The `UserAuthenticator` of a session provider: the access cookie names the actor."""

    def __init__(self, provider: SessionProvider) -> None:
        self.provider = provider
        self.name = provider.name

    async def authenticate(self, request: Request) -> Actor | None:
        token = access_token_of(request)
        return None if token is None else await self.provider.actor_for(token)
