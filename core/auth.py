"""The user-auth and service-auth protocols that auth plugins implement."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

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


def header_pairs(scope: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """An ASGI request's headers as they arrived, for checking what a caller signed:
    lower-case names, Latin-1 text, in order, repeats kept."""
    return tuple((name.decode("latin-1").lower(), value.decode("latin-1"))
                 for name, value in scope["headers"])


def joined_header(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    """Every value of header `name` joined by commas (as signers canonicalise repeats),
    None when absent."""
    values = [value for key, value in pairs if key == name]
    return ",".join(values) if values else None


def request_target(scope: Mapping[str, Any]) -> tuple[str, str]:
    """The raw path and raw query string as sent (still percent-encoded), for checking a
    signature over them. Strict UTF-8: two byte strings must never read as one text a
    signature was made over, so anything else is refused."""
    raw_path = scope.get("raw_path") or quote(scope["path"]).encode()
    try:
        return raw_path.decode("utf-8"), scope.get("query_string", b"").decode("utf-8")
    except UnicodeDecodeError:
        raise AuthenticationFailed("the request target is not valid UTF-8") from None


class AllowList:
    """The principals a service-auth strategy lets in (every strategy holds its callers to
    one): fnmatch patterns. Each principal's answer is remembered, up to `MEMO_SIZE`
    principals: only callers who proved who they are get this far, and they are few."""

    MEMO_SIZE = 1024

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._answers: dict[str, bool] = {}

    def check(self, principal: str) -> None:
        """403 unless `principal` matches one of the patterns."""
        allowed = self._answers.get(principal)
        if allowed is None:
            allowed = any(fnmatch.fnmatchcase(principal, pattern) for pattern in self.patterns)
            if len(self._answers) < self.MEMO_SIZE:
                self._answers[principal] = allowed
        if not allowed:
            raise AuthenticationFailed("principal not allowed", status=403)


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
