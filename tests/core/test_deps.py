"""What handlers ask for: the actor, the service principal, the cache, the db, settings."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

from core.auth import AuthenticationFailed, ServicePrincipal
from core.context import AppContext
from core.deps import current_service, get_ctx
from core.http import respond
from core.plugins import hookimpl
from core.routing import api_route
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin

EXAMPLE = "tests.core.example_plugin"


def problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


def test_without_a_user_auth_plugin_user_routes_answer_a_clear_401(make_client, kernel_config):
    client = make_client(kernel_config([EXAMPLE]))
    body = problem(client.post("/api/v1/guestbook", json={"text": "hi"}), 401)
    assert body["detail"] == (
        "This route needs a signed-in user, and no user-auth plugin is loaded "
        "(add one to [app] plugins)"
    )


def test_with_a_user_auth_plugin_an_anonymous_request_is_asked_to_sign_in(
    make_client, kernel_config
):
    client = make_client(kernel_config([EXAMPLE]), plugins=[StandInUserAuthPlugin()])
    assert problem(client.post("/api/v1/guestbook", json={"text": "hi"}), 401)["detail"] == (
        "Sign in to use this route"
    )
    signed = client.post("/api/v1/guestbook", json={"text": "hi"}, headers={"x-test-user": "ada"})
    assert signed.status_code == 201 and signed.json()["author"] == "ada"


class CountingServiceAuth:
    """Accepts `X-Key: good`, refuses any other key, ignores requests without one."""

    name = "counting"
    security_scheme: dict[str, Any] = {"type": "apiKey", "in": "header", "name": "X-Key"}

    def __init__(self) -> None:
        self.calls = 0

    async def authenticate(self, request: Request, body: bytes) -> ServicePrincipal | None:
        self.calls += 1
        key = request.headers.get("x-key")
        if key is None:
            return None
        if key == "revoked":
            raise AuthenticationFailed("This key was revoked", status=403)
        if key != "good":
            raise AuthenticationFailed("Unknown key")
        return ServicePrincipal(id=f"worker:{len(body)}", method=self.name)


async def whoami(request: Request) -> Response:
    first = await current_service(request)
    second = await current_service(request)  # kept for the request, not asked again
    return respond({"id": first.id, "same": first is second})


class ServiceRoutes:
    def __init__(self) -> None:
        self.strategy = CountingServiceAuth()

    @hookimpl
    def service_authenticator(self, ctx: AppContext) -> CountingServiceAuth:
        return self.strategy

    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        return [api_route("/internal/whoami", whoami, methods=["POST"], summary="Who am I",
                          auth="service")]


@pytest.mark.hooks("service_authenticator")
def test_current_service_answers_401_403_or_the_principal(make_client, kernel_config):
    plugin = ServiceRoutes()
    client = make_client(kernel_config(), plugins=[StandInUserAuthPlugin(), plugin])
    anonymous = client.post("/internal/whoami")
    none = problem(anonymous, 401)
    assert none["detail"] == (
        "This route is for internal services; no service credential was presented"
    )
    assert anonymous.headers["www-authenticate"] == "counting"  # the strategy's name
    assert problem(client.post("/internal/whoami", headers={"x-key": "bad"}), 401)["detail"] == (
        "Unknown key"
    )
    assert problem(client.post("/internal/whoami", headers={"x-key": "revoked"}), 403)[
        "detail"] == "This key was revoked"
    plugin.strategy.calls = 0
    ok = client.post("/internal/whoami", content=b"12345", headers={"x-key": "good"})
    assert ok.json() == {"id": "worker:5", "same": True}
    assert plugin.strategy.calls == 1
    user_only = client.post("/internal/whoami", headers={"x-test-user": "ada"})
    assert problem(user_only, 401)["status"] == 401  # a user never opens a service route


def test_without_a_service_auth_plugin_service_routes_answer_403(make_client, kernel_config):
    class RoutesOnly:
        @hookimpl
        def register_routes(self, ctx: AppContext) -> list[Any]:
            return ServiceRoutes().register_routes(ctx)

    client = make_client(kernel_config(), plugins=[RoutesOnly()])
    assert problem(client.post("/internal/whoami"), 403)["detail"] == (
        "This route is for internal services, and no service-auth plugin is loaded"
    )


def test_service_credentials_never_sign_a_user_in(make_client, kernel_config):
    client = make_client(kernel_config([EXAMPLE]), plugins=[StandInServiceAuthPlugin()])
    refused = client.post("/api/v1/guestbook", json={"text": "hi"},
                          headers={"x-test-service": "transcoder"})
    assert refused.status_code == 401


async def facts(request: Request) -> Response:
    ctx = get_ctx(request)
    cache = ctx.cache
    await cache.set("k", b"v", 10)
    return respond({
        "same_ctx": ctx is request.app.state.ctx,
        "cache": cache.name,
        "cached": (await ctx.cache.get("k")).decode(),
        "title": ctx.settings("guestbook").title,
    })


class FactsRoute:
    @hookimpl
    def register_routes(self, ctx: AppContext) -> list[Any]:
        return [api_route("/facts", facts, methods=["GET"], summary="Facts")]


def test_handlers_reach_the_context_and_their_settings(make_client, kernel_config):
    client = make_client(kernel_config([EXAMPLE], plugins={"guestbook": {"title": "Mine"}}),
                         plugins=[FactsRoute()])
    assert client.get("/facts").json() == {
        "same_ctx": True, "cache": "memory", "cached": "v", "title": "Mine",
    }
