"""The session cookies: HttpOnly, SameSite=Lax, Secure unless turned off; the refresh cookie
scoped to the auth routes."""

from __future__ import annotations

import attrs
from starlette.requests import Request, cookie_parser
from starlette.responses import Response

# The auth routes' prefix, which is also the refresh cookie's path.
AUTH_PATH = "/api/v1/auth"
ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
# Where a request keeps its cookies once read (`_cookie`).
COOKIES_KEY = "itube.cookies"


@attrs.frozen
class SessionTokens:
    """What a provider hands back on login or refresh; cookie values are opaque here."""

    access_token: str = attrs.field(repr=False)
    access_max_age: int
    # None on a refresh that did not rotate it: the client keeps the cookie it has.
    refresh_token: str | None = attrs.field(default=None, repr=False)
    refresh_max_age: int = 0


def set_session_cookies(response: Response, tokens: SessionTokens, *, secure: bool) -> None:
    response.set_cookie(
        ACCESS_COOKIE, tokens.access_token, max_age=tokens.access_max_age, path="/",
        secure=secure, httponly=True, samesite="lax",
    )
    if tokens.refresh_token is not None:
        response.set_cookie(
            REFRESH_COOKIE, tokens.refresh_token, max_age=tokens.refresh_max_age,
            path=AUTH_PATH, secure=secure, httponly=True, samesite="lax",
        )


def clear_session_cookies(response: Response, *, secure: bool) -> None:
    response.delete_cookie(ACCESS_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(
        REFRESH_COOKIE, path=AUTH_PATH, secure=secure, httponly=True, samesite="lax"
    )


def access_token_of(request: Request) -> str | None:
    return _cookie(request, ACCESS_COOKIE)


def refresh_token_of(request: Request) -> str | None:
    return _cookie(request, REFRESH_COOKIE)


def _cookie(request: Request, name: str) -> str | None:
    """The cookie `name`, read from the request's raw `Cookie` headers as Starlette's
    `Request.cookies` reads them, once a request (kept in its scope): an authenticated
    request asks twice, and Starlette's would build its `Headers` first."""
    scope = request.scope
    cookies = scope.get(COOKIES_KEY)
    if cookies is None:
        cookies = {}
        for header, value in scope["headers"]:
            if header == b"cookie":
                cookies.update(cookie_parser(value.decode("latin-1")))
        if not cookies:  # most anonymous requests: no Cookie header, nothing kept
            return None
        scope[COOKIES_KEY] = cookies
    return cookies.get(name) or None
