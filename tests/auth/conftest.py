"""Fixtures of the user-auth tests: one harness per real provider, on the parametrised
database, against the session's AWS emulation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import pytest
from starlette.testclient import TestClient

from core.plugins import hookimpl

# Secure cookies are the default, and a cookie jar sends them over https only.
BASE_URL = "https://testserver"
CLIENT_ADDRESS = ("203.0.113.10", 50000)
ALLOWED_ORIGIN = "http://localhost:3000"
# argon2id at its lowest costs: the tests check behaviour, not the hash's strength.
CHEAP_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


@attrs.define
class AuthHarness:
    """How the contract suite drives one provider."""

    plugin: str
    # start(confirm_by_code=False, http={...}, extra_plugins=[...], with_plugins={name:
    #       settings} loaded before the provider, **provider_settings)
    start: Callable[..., TestClient]
    # The confirmation code last sent to an address.
    code_for: Callable[[str], str]
    # False where the provider's backend accepts any code (the AWS emulation does).
    refuses_wrong_codes: bool


class CodeInbox:
    """Receives auth_local's confirmation codes, as a mail plugin would."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    @hookimpl
    def deliver_confirmation_code(self, email: str, name: str, code: str) -> None:
        self.codes[email] = code


def _http(http: dict[str, Any] | None) -> dict[str, Any]:
    return {"cors_origins": [ALLOWED_ORIGIN], **(http or {})}


@pytest.fixture
def cognito_harness(make_config, make_client, moto_endpoint) -> AuthHarness:
    def start(*, confirm_by_code: bool = False, http: dict[str, Any] | None = None,
              extra_plugins: list[object] | None = None,
              with_plugins: dict[str, Any] | None = None, **settings: Any) -> TestClient:
        plugins: dict[str, Any] = {**(with_plugins or {}), "auth_cognito": settings}
        if confirm_by_code:
            plugins["local_aws"] = {"endpoint_url": moto_endpoint, "auto_confirm_sign_ups": False}
        config = make_config([*(with_plugins or {}), "auth_cognito"], plugins=plugins,
                             http=_http(http))
        return make_client(config, plugins=extra_plugins, base_url=BASE_URL,
                           client=CLIENT_ADDRESS)

    # The emulation confirms with any code; real Cognito mails one.
    return AuthHarness("auth_cognito", start, code_for=lambda email: "123456",
                       refuses_wrong_codes=False)


@pytest.fixture
def local_harness(make_config, make_client) -> AuthHarness:
    inbox = CodeInbox()

    def start(*, confirm_by_code: bool = False, http: dict[str, Any] | None = None,
              extra_plugins: list[object] | None = None,
              with_plugins: dict[str, Any] | None = None, **settings: Any) -> TestClient:
        settings = {**CHEAP_ARGON2, **settings}
        if confirm_by_code:
            settings = {"confirmation": "code", **settings}
        config = make_config([*(with_plugins or {}), "auth_local"],
                             plugins={**(with_plugins or {}), "auth_local": settings},
                             http=_http(http))
        return make_client(config, plugins=[inbox, *(extra_plugins or [])], base_url=BASE_URL,
                           client=CLIENT_ADDRESS)

    return AuthHarness("auth_local", start, code_for=lambda email: inbox.codes[email],
                       refuses_wrong_codes=True)
