"""Stand-in auth plugins for tests that are not about auth.

`X-Test-User: alice` signs in as user `alice`; `X-Test-Service: transcoder` acts as that
service. They exist only in tests, and are the first proof that auth is swappable.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from core.auth import Actor, ServicePrincipal
from core.context import AppContext
from core.plugins import hookimpl


class HeaderUserAuth:
    name = "test-header"

    async def authenticate(self, request: Request) -> Actor | None:
        user = request.headers.get("x-test-user")
        return Actor(id=user, provider=self.name, name=user.title()) if user else None


class HeaderServiceAuth:
    name = "test-header"
    security_scheme: dict[str, Any] = {"type": "apiKey", "in": "header", "name": "X-Test-Service"}

    async def authenticate(self, request: Request, body: bytes) -> ServicePrincipal | None:
        service = request.headers.get("x-test-service")
        return ServicePrincipal(id=service, method=self.name) if service else None


class StandInUserAuthPlugin:
    @hookimpl
    def user_authenticator(self, ctx: AppContext) -> HeaderUserAuth:
        return HeaderUserAuth()


class StandInServiceAuthPlugin:
    @hookimpl
    def service_authenticator(self, ctx: AppContext) -> HeaderServiceAuth:
        return HeaderServiceAuth()
