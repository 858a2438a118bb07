"""Fixtures of the user-auth tests: one harness per real provider, on the parametrised
database, against the session's AWS emulation."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import attrs
import httpx
import pytest
from botocore.exceptions import ClientError
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
    #       settings} loaded before the provider, peer=(address, port) the connection
    #       comes from, **provider_settings)
    start: Callable[..., TestClient]
    # The confirmation code last sent to an address.
    code_for: Callable[[str], str]


class CodeInbox:
    """Receives auth_local's confirmation codes, as a mail plugin would."""

    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    @hookimpl
    def deliver_confirmation_code(self, email: str, name: str, code: str) -> None:
        self.codes[email] = code


def cognito_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class CodeMailingCognito:
    """The emulator's Cognito client plus the confirmation codes it lacks (it accepts any
    code and cannot resend): sign-up and resend "mail" a new code, kept here, and
    confirming with another code is a `CodeMismatchException`, as Cognito answers. Every
    other call goes to the emulator, and so does a confirmation with the right code or
    for a user it never mailed."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.codes: dict[str, str] = {}
        self.confirmations_asked = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def _mail(self, username: str) -> None:
        self.codes[username] = f"{secrets.randbelow(10**6):06d}"

    def sign_up(self, **params: Any) -> Any:
        result = self.client.sign_up(**params)
        self._mail(params["Username"])
        return result

    def resend_confirmation_code(self, **params: Any) -> Any:
        if params["Username"] not in self.codes:
            raise cognito_error("UserNotFoundException", "ResendConfirmationCode")
        self._mail(params["Username"])
        return {"CodeDeliveryDetails": {"DeliveryMedium": "EMAIL"}}

    def confirm_sign_up(self, **params: Any) -> Any:
        self.confirmations_asked += 1
        sent = self.codes.get(params["Username"])
        if sent is not None and sent != params["ConfirmationCode"]:
            raise cognito_error("CodeMismatchException", "ConfirmSignUp")
        return self.client.confirm_sign_up(**params)  # unknown users: the emulator's answer


def cognito_gateway(client: TestClient) -> Any:
    return client.app.state.ctx.state["auth_cognito"].gateway  # type: ignore[attr-defined]


def concurrently(client: TestClient, *requests: dict[str, Any]) -> list[httpx.Response]:
    """Send `requests` (`httpx.AsyncClient.request` keyword arguments) to the client's app at
    the same time, on the app's own event loop, the way a server interleaves them."""
    app, ctx = client.app, client.app.state.ctx  # type: ignore[attr-defined]

    async def with_lifespan_state(scope: Any, receive: Any, send: Any) -> None:
        await app({**scope, "state": {"ctx": ctx}}, receive, send)

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=with_lifespan_state, client=CLIENT_ADDRESS)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            return list(await asyncio.gather(*(http.request(**request) for request in requests)))

    return client.portal.call(send_all)


def _http(http: dict[str, Any] | None) -> dict[str, Any]:
    return {"cors_origins": [ALLOWED_ORIGIN], **(http or {})}


@pytest.fixture
def cognito_harness(make_config, make_client, moto_endpoint) -> AuthHarness:
    mailbox: dict[str, str] = {}

    def start(*, confirm_by_code: bool = False, http: dict[str, Any] | None = None,
              extra_plugins: list[object] | None = None,
              with_plugins: dict[str, Any] | None = None,
              peer: tuple[str, int] = CLIENT_ADDRESS, **settings: Any) -> TestClient:
        plugins: dict[str, Any] = {**(with_plugins or {}), "auth_cognito": settings}
        if confirm_by_code:
            plugins["local_aws"] = {"endpoint_url": moto_endpoint, "auto_confirm_sign_ups": False}
        config = make_config([*(with_plugins or {}), "auth_cognito"], plugins=plugins,
                             http=_http(http))
        client = make_client(config, plugins=extra_plugins, base_url=BASE_URL, client=peer)
        if confirm_by_code:
            gateway = cognito_gateway(client)
            gateway.client = CodeMailingCognito(gateway.client)
            gateway.client.codes = mailbox
        return client

    return AuthHarness("auth_cognito", start, code_for=lambda email: mailbox[email])


@pytest.fixture
def local_harness(make_config, make_client) -> AuthHarness:
    inbox = CodeInbox()

    def start(*, confirm_by_code: bool = False, http: dict[str, Any] | None = None,
              extra_plugins: list[object] | None = None,
              with_plugins: dict[str, Any] | None = None,
              peer: tuple[str, int] = CLIENT_ADDRESS, **settings: Any) -> TestClient:
        settings = {**CHEAP_ARGON2, **settings}
        if confirm_by_code:
            settings = {"confirmation": "code", **settings}
        config = make_config([*(with_plugins or {}), "auth_local"],
                             plugins={**(with_plugins or {}), "auth_local": settings},
                             http=_http(http))
        return make_client(config, plugins=[inbox, *(extra_plugins or [])], base_url=BASE_URL,
                           client=peer)

    return AuthHarness("auth_local", start, code_for=lambda email: inbox.codes[email])
