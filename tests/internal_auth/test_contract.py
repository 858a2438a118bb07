"""The service-auth contract: every request-signing strategy (SigV4 with static keys, SigV4
via STS, HMAC-signed requests) accepts what it should and refuses every forgery."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from core.cache import CacheUnavailable, MemoryCache
from core.plugins import hookimpl
from tests.internal_auth.conftest import moto_auth

SIX_MINUTES = 360


def build(method: str, url: str, **kw: Any) -> httpx.Request:
    return httpx.Request(method, f"http://testserver{url}", **kw)


def resend(signed: httpx.Request, *, method: str | None = None, url: str | None = None,
           content: bytes | None = None, host: str | None = None) -> httpx.Request:
    """The signed request's headers on a request that differs in one part."""
    headers = {k: v for k, v in signed.headers.items() if k.lower() != "content-length"}
    if host is not None:
        headers["host"] = host
    return httpx.Request(method or signed.method, url or str(signed.url), headers=headers,
                         content=signed.content if content is None else content)


def detail(response: httpx.Response) -> str:
    return response.json()["detail"]


# -- accepted ----------------------------------------------------------------------------------


def test_get_with_url_encoded_key_containing_slashes(strategy: Any, strategy_client: TestClient):
    key = "videos/user 1/clip+1 é.mp4"
    encoded = "videos%2Fuser%201%2Fclip%2B1%20%C3%A9.mp4"
    response = strategy_client.send(strategy.sign(build("GET", f"/internal/objects/{encoded}")))
    assert response.status_code == 200, response.text
    assert response.json()["key"] == key
    assert response.json()["principal"] == strategy.principal()


def test_get_with_plain_slashes_in_the_key(strategy: Any, strategy_client: TestClient):
    response = strategy_client.send(
        strategy.sign(build("GET", "/internal/objects/videos/u-1/a b.mp4?x=1&a=%2F"))
    )
    assert response.status_code == 200, response.text
    assert response.json()["key"] == "videos/u-1/a b.mp4"


def test_patch_with_a_query(strategy: Any, strategy_client: TestClient):
    signed = strategy.sign(build("PATCH", "/internal/items/7/status?status=COMPLETED"))
    response = strategy_client.send(signed)
    assert response.status_code == 200, response.text
    assert response.json() == {"item": "7", "status": "COMPLETED",
                               "principal": strategy.principal()}


def test_patch_with_a_json_body(strategy: Any, strategy_client: TestClient):
    signed = strategy.sign(build("PATCH", "/internal/items/7/status",
                                 json={"status": "FAILED", "failure_reason": "empty"}))
    response = strategy_client.send(signed)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "FAILED"


def test_a_safe_request_may_be_retried(strategy: Any, strategy_client: TestClient):
    signed = strategy.sign(build("GET", "/internal/objects/a/b"))
    assert strategy_client.send(signed).status_code == 200
    assert strategy_client.send(resend(signed)).status_code == 200


# -- refused -----------------------------------------------------------------------------------


def assert_challenged(response: httpx.Response, strategy: Any) -> None:
    """RFC 9110: no valid credential is a 401 naming the scheme that would be accepted."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"] == strategy.challenge


def test_no_credential_is_a_401_with_a_challenge(strategy: Any, strategy_client: TestClient):
    response = strategy_client.get("/internal/objects/a/b")
    assert_challenged(response, strategy)
    assert detail(response) == ("This route is for internal services; no service credential "
                                "was presented")


def test_a_gateway_request_id_alone_is_no_credential(strategy: Any,
                                                     strategy_client: TestClient):
    response = strategy_client.patch("/internal/items/1/status?status=COMPLETED",
                                     headers={"X-Amzn-RequestId": "a1b2c3d4-5678-90ab-cdef"})
    assert_challenged(response, strategy)


def test_wrong_secret(strategy: Any, strategy_client: TestClient):
    response = strategy_client.send(strategy.sign(build("GET", "/internal/objects/a"),
                                                  "wrong_secret"))
    assert_challenged(response, strategy)
    assert "not-the-secret" not in response.text


def test_unknown_key(strategy: Any, strategy_client: TestClient):
    response = strategy_client.send(strategy.sign(build("GET", "/internal/objects/a"),
                                                  "unknown_key"))
    assert response.status_code == 401


def test_well_formed_header_with_bogus_signature(strategy: Any, strategy_client: TestClient):
    signed = strategy.sign(build("PATCH", "/internal/items/1/status?status=COMPLETED"))
    strategy.corrupt(signed)
    response = strategy_client.send(signed)
    assert response.status_code == 401


def test_principal_not_allowed(strategy: Any, strategy_client: TestClient):
    response = strategy_client.send(strategy.sign(build("GET", "/internal/objects/a"),
                                                  "not_allowed"))
    assert response.status_code == 403
    assert detail(response) == "principal not allowed"


@pytest.mark.parametrize(
    "change",
    [
        {"method": "POST"},
        {"url": "http://testserver/internal/items/2/status?status=COMPLETED"},
        {"url": "http://testserver/internal/items/1/status?status=FAILED"},
        {"content": b'{"status":"FAILED"}'},
        {"host": "testserver:8443"},
    ],
    ids=["method", "path", "query", "body", "host"],
)
def test_tampered_request(strategy: Any, strategy_client: TestClient, change: dict[str, Any]):
    signed = strategy.sign(build("PATCH", "/internal/items/1/status?status=COMPLETED",
                                 json={"status": "COMPLETED"}))
    response = strategy_client.send(resend(signed, **change))
    assert response.status_code == 401, response.text
    assert "mismatch" in detail(response)


def test_a_request_signed_for_another_host(strategy: Any, strategy_client: TestClient):
    """Validly signed, but for another deployment that shares the key (e.g. staging)."""
    signed = strategy.sign(httpx.Request("PATCH", "http://staging.example/internal/items/1/"
                                         "status?status=COMPLETED"))
    response = strategy_client.send(signed)
    assert_challenged(response, strategy)
    assert detail(response) == "request is for another host"


def test_the_host_is_matched_case_insensitively(strategy: Any, strategy_client: TestClient):
    request = build("GET", "/internal/objects/a", headers={"host": "TestServer:8000"})
    response = strategy_client.send(strategy.sign(request))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host, status", [("testserver:8443", 200), ("testserver", 401),
                                          ("testserver:9443", 401), ("api.example:8443", 401)])
def test_a_host_with_a_port_matches_that_port_only(strategy: Any, service_app: Any,
                                                   moto_endpoint: str, host: str, status: int):
    client = service_app(strategy.plugin, {**strategy.settings(),
                                           "expected_hosts": ["testserver:8443"]})
    with moto_auth(moto_endpoint) if strategy.name == "sts" else contextlib.nullcontext():
        response = client.send(strategy.sign(build("GET", "/internal/objects/a",
                                                   headers={"host": host})))
    assert response.status_code == status, response.text


@pytest.mark.parametrize("skew, reason", [(-SIX_MINUTES, "request expired"),
                                          (SIX_MINUTES, "request date is in the future")])
def test_date_outside_the_window(strategy: Any, strategy_client: TestClient, skew: int,
                                 reason: str):
    response = strategy_client.send(strategy.sign(build("GET", "/internal/objects/a"),
                                                  skew=skew))
    assert response.status_code == 401
    assert detail(response) == reason


def test_a_date_inside_the_window_is_accepted(strategy: Any, strategy_client: TestClient):
    response = strategy_client.send(strategy.sign(build("GET", "/internal/objects/a"),
                                                  skew=-240))
    assert response.status_code == 200, response.text


def test_replayed_patch(strategy: Any, strategy_client: TestClient):
    signed = strategy.sign(build("PATCH", "/internal/items/1/status?status=COMPLETED"))
    assert strategy_client.send(signed).status_code == 200
    replay = strategy_client.send(resend(signed))
    assert replay.status_code == 401
    assert detail(replay) == "replayed request"


def test_user_session_on_a_service_route(strategy: Any, strategy_client: TestClient):
    response = strategy_client.patch("/internal/items/1/status?status=COMPLETED",
                                     headers={"X-Test-User": "alice"})
    assert_challenged(response, strategy)


def test_service_signature_on_a_user_route(strategy: Any, strategy_client: TestClient):
    assert strategy_client.get("/me", headers={"X-Test-User": "alice"}).json() == {"user": "alice"}
    response = strategy_client.send(strategy.sign(build("GET", "/me")))
    assert response.status_code == 401


class UnavailableCache(MemoryCache):
    """A cache whose store never answers."""

    name = "unavailable"

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        raise CacheUnavailable("down")

    async def get(self, key: str) -> bytes | None:
        raise CacheUnavailable("down")

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        raise CacheUnavailable("down")


class UnavailableCachePlugin:
    @hookimpl
    def cache_backend(self, ctx: Any) -> UnavailableCache:
        return UnavailableCache()


def test_replay_refused_while_the_cache_is_down(strategy: Any, service_app: Any,
                                                moto_endpoint: str):
    client = service_app(strategy.plugin, strategy.settings(), extra=[UnavailableCachePlugin()])
    with moto_auth(moto_endpoint) if strategy.name == "sts" else contextlib.nullcontext():
        signed = strategy.sign(build("PATCH", "/internal/items/1/status?status=COMPLETED"))
        assert client.send(signed).status_code == 200
        assert detail(client.send(resend(signed))) == "replayed request"
