"""What the fuzz passes sent and saw, for the summary line: requests, responses >= 500,
schema violations (the response does not match the document) and other check failures."""

from __future__ import annotations

import collections
import http.cookiejar
from collections.abc import Iterable
from typing import Any

import attrs
import requests

# Schemathesis failure codes: ST101-102 server errors, ST103-111 the response against the
# document (status, content type, headers, body schema), the rest input handling (ST2xx),
# resources (ST3xx) and authentication (ST4xx).
SERVER_ERRORS = frozenset({"ST101", "ST102"})
SCHEMA_VIOLATIONS = frozenset(f"ST{code}" for code in range(103, 112))


@attrs.define
class PassFigures:
    requests: int = 0
    # 2xx answers of operations that require a credential: proof the pass's credentials
    # work (a broken signer would make every answer a declared, conforming 401).
    authorized_successes: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    other_failures: int = 0
    statuses: collections.Counter[int] = attrs.Factory(collections.Counter)
    failure_codes: collections.Counter[str] = attrs.Factory(collections.Counter)

    def record_response(self, response: requests.Response) -> None:
        self.requests += 1
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors += 1

    def record_success(self, status: int, *, requires_credentials: bool) -> None:
        if requires_credentials and 200 <= status < 300:
            self.authorized_successes += 1

    def record_failures(self, failures: Iterable[Any]) -> None:
        for failure in failures:
            code = getattr(failure, "code", "ST901")
            self.failure_codes[code] += 1
            if code in SCHEMA_VIOLATIONS:
                self.schema_violations += 1
            elif code not in SERVER_ERRORS:  # counted from the responses themselves
                self.other_failures += 1

    def line(self, name: str) -> str:
        statuses = " ".join(f"{status}x{count}" for status, count in sorted(self.statuses.items()))
        codes = " ".join(f"{code}x{count}" for code, count in sorted(self.failure_codes.items()))
        return (f"fuzz {name}: {self.requests} requests, {self.server_errors} responses >= 500, "
                f"{self.schema_violations} schema violations, {self.other_failures} other "
                f"check failures, {self.authorized_successes} authorized 2xx; "
                f"statuses {statuses or '-'}" + (f"; failures {codes}" if codes else ""))


# Pass name -> its figures, printed at the end of the run (tests/fuzz/conftest.py).
FIGURES: dict[str, PassFigures] = {}


def figures_for(name: str) -> PassFigures:
    return FIGURES.setdefault(name, PassFigures())


class BlockAll(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False


def counting_session(figures: PassFigures) -> requests.Session:
    """A session that counts every response and never keeps a cookie: credentials come only
    from the pass (a login answer must not sign the anonymous pass in)."""
    session = requests.Session()
    session.cookies.set_policy(BlockAll())
    session.hooks["response"].append(lambda response, **_: figures.record_response(response))
    return session
