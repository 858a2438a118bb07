"""The user-auth and service-auth protocols that auth plugins implement."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import attrs
from starlette.requests import Request


@attrs.frozen
class Actor:
    """A signed-in person. `id` is opaque to every other plugin."""

    id: str
    provider: str
    email: str | None = None
    name: str | None = None
    # Provider-specific facts (token id, expiry...) that the provider itself needs again.
    claims: dict[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


@attrs.frozen
class ServicePrincipal:
    """An internal service that proved who it is (an IAM ARN, an access key, a token name)."""

    id: str
    method: str


class AuthenticationFailed(Exception):
    """A credential was presented and is wrong. The reason is safe to show a client."""

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@runtime_checkable
class UserAuthenticator(Protocol):
    """Finds the actor behind a request, or returns None when it holds no credential."""

    name: str

    async def authenticate(self, request: Request) -> Actor | None: ...


@runtime_checkable
class ServiceAuthenticator(Protocol):
    """Finds the service behind a request. Returns None when the request carries no
    credential of its kind; raises AuthenticationFailed when one is present but wrong.

    A strategy may also set `challenge`, the scheme a 401's `WWW-Authenticate` names for it
    (e.g. `AWS4-HMAC-SHA256`); without it the 401 names the strategy's `name`."""

    name: str
    # The OpenAPI security scheme this strategy answers to, e.g. {"type": "apiKey", ...}.
    security_scheme: dict[str, Any]

    async def authenticate(self, request: Request, body: bytes) -> ServicePrincipal | None: ...
