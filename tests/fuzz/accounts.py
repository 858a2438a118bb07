"""The signed-in pass's user: registered once, signed in again whenever the server stops
accepting the session (the fuzzer itself calls logout, which revokes it everywhere)."""

from __future__ import annotations

import secrets
import threading
from typing import Any

import httpx

from core.sessions import ACCESS_COOKIE, AUTH_PATH, REFRESH_COOKIE

PASSWORD = "Fuzz-Pass-1234!"


class Account:
    """One user of the server under test; `session_cookies()` signs in."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.email = f"fuzz-{secrets.token_hex(6)}@example.com"
        self._registered = False
        self._lock = threading.Lock()
        self.sign_ins = 0

    def session_cookies(self) -> dict[str, str]:
        """Fresh session cookies (access and refresh) of this user."""
        with self._lock, httpx.Client(base_url=self.base_url, timeout=10) as client:
            if not self._registered:
                registered = client.post("/api/v1/auth/register", json={
                    "name": "Fuzz Tester", "email": self.email, "password": PASSWORD})
                registered.raise_for_status()
                self._registered = True
            login = client.post("/api/v1/auth/login",
                                json={"email": self.email, "password": PASSWORD})
            login.raise_for_status()
            self.sign_ins += 1
            return {name: login.cookies[name] for name in (ACCESS_COOKIE, REFRESH_COOKIE)}


def cookies_for(path: str, session: dict[str, str]) -> dict[str, str]:
    """The cookies a browser sends to `path`: the refresh cookie is scoped to the auth
    routes. Sending it elsewhere would also be wrong for the fuzzer: a cookie the document
    does not declare makes Schemathesis treat the request as invalid data, and skip the
    check that valid data is accepted."""
    if path.startswith(AUTH_PATH):
        return dict(session)
    return {name: value for name, value in session.items() if name != REFRESH_COOKIE}


def cookie_auth(account: Account) -> type:
    """A schemathesis auth provider class putting `account`'s session cookies on each case.
    Schemathesis caches what `get` returns and calls it again after a 401 (its default
    `retry_on`), which is how a session revoked by a fuzzed logout is replaced."""

    class SessionCookies:
        def get(self, case: Any, context: Any) -> dict[str, str]:
            return account.session_cookies()

        def set(self, case: Any, data: dict[str, str], context: Any) -> None:
            case.cookies = {**(case.cookies or {}), **cookies_for(case.operation.path, data)}

    return SessionCookies
