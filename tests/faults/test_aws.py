"""AWS black-holed (connections accepted, nothing answered), through a proxy in front of
the emulator: the routes that call AWS (sign-in, saving a video's metadata) answer 503
problem+json within `max_attempts × (connect + read)` seconds, every other route is
unaffected, `/readyz` says "degraded" (AWS is non-critical), and all recover on `resume`."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from core.app import create_app
from core.aws import AwsClients
from core.config import AwsSection, config_from_dict
from core.errors import ConfigError
from core.health import READINESS_BUDGET_SECONDS
from core.sessions import AUTH_PATH
from plugins.auth_cognito.config import PoolTarget
from plugins.auth_cognito.gateway import cognito_client
from tests.faults.support import USER, VIDEOS, app_config, assert_unavailable, timed, wait_until

CONNECT, READ, ATTEMPTS = 0.5, 1.0, 2
AWS = {"connect_timeout_seconds": CONNECT, "read_timeout_seconds": READ,
       "max_attempts": ATTEMPTS, "readiness_cache_seconds": 0.0}
BOUND = ATTEMPTS * (CONNECT + READ)
MARGIN = 4.0
PASSWORD = "SecurePass123!"


def metadata(key: str) -> dict[str, str]:
    return {"title": "Faults", "description": "", "video_s3_key": key, "visibility": "PUBLIC"}


def test_a_black_holed_aws_answers_503_where_it_is_needed_and_nowhere_else(
    aws_proxy, sqlite_url
):
    proxy, endpoint = aws_proxy
    config = app_config(sqlite_url, endpoint, ["auth_cognito", "video"], aws=AWS)
    with TestClient(create_app(config), base_url="https://testserver",
                    raise_server_exceptions=False) as client:
        account = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
        register = client.post(f"{AUTH_PATH}/register", json={"name": "Faults", **account})
        assert register.status_code == 201, register.text
        assert client.post(f"{AUTH_PATH}/login", json=account).status_code == 200
        client.cookies.clear()  # the stand-in user (X-Test-User) saves the metadata
        assert client.get("/readyz").json()["checks"]["aws"] == "ok"

        proxy.black_hole()
        for call in (
            lambda: client.post(f"{AUTH_PATH}/login", json=account),
            lambda: client.post(f"{VIDEOS}/metadata", headers=USER,
                                json=metadata(f"videos/alice/{uuid.uuid4()}")),
        ):
            response, elapsed = timed(call)
            assert_unavailable(response)
            assert elapsed < BOUND + MARGIN
        # What needs no AWS answers as before, at once.
        for path, status in ((f"{VIDEOS}/{uuid.uuid4()}", 404), (f"{VIDEOS}/", 200),
                             ("/healthz", 200)):
            response, elapsed = timed(client.get, path)
            assert response.status_code == status
            assert elapsed < MARGIN
        ready, elapsed = timed(client.get, "/readyz")
        assert elapsed < READINESS_BUDGET_SECONDS + MARGIN
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["aws"].startswith("failing")
        assert ready.json()["checks"]["database"] == "ok"

        proxy.resume()
        assert wait_until(
            lambda: client.post(f"{AUTH_PATH}/login", json=account).status_code == 200
        )
        assert wait_until(lambda: client.get("/readyz").json()["status"] == "ok")


def test_the_aws_check_does_not_call_aws_on_every_probe(aws_proxy, sqlite_url):
    proxy, endpoint = aws_proxy
    for remember, most, least in ((30.0, 1, 0), (0.0, None, 5)):
        config = app_config(sqlite_url, endpoint, ["video"],
                            aws={"readiness_cache_seconds": remember})
        with TestClient(create_app(config)) as client:
            before = proxy.accepted
            assert [client.get("/readyz").json()["checks"]["aws"] for _ in range(5)] == ["ok"] * 5
            connections = proxy.accepted - before
        assert connections >= least
        assert most is None or connections <= most


def test_every_client_waits_as_long_as_aws_says():
    section = AwsSection(endpoint_url="http://127.0.0.1:9", access_key_id="k",
                         secret_access_key="s", connect_timeout_seconds=0.7,
                         read_timeout_seconds=1.5, max_attempts=3)
    clients = AwsClients(section)
    elsewhere = PoolTarget(user_pool_id="eu-west-1_x", client_id="c", client_secret="",
                           issuer="", jwks_url="", endpoint_url="http://127.0.0.1:10",
                           auto_confirm=False, region="eu-west-1")
    for client in (clients.client("s3"), clients.client("cognito-idp"),
                   cognito_client(clients, elsewhere)):
        config = client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (0.7, 1.5)
        assert config.retries == {"total_max_attempts": 3, "mode": "standard"}
    assert clients.endpoints() == ["http://127.0.0.1:9"]


@pytest.mark.parametrize(("key", "value", "expected"), [
    ("connect_timeout_seconds", 0.0, "expected more than 0"),
    ("read_timeout_seconds", -1.0, "expected more than 0"),
    ("readiness_cache_seconds", -1.0, "expected 0 or more"),
    ("max_attempts", 0, "expected at least 1"),
])
def test_aws_bounds_must_be_usable(key, value, expected):
    with pytest.raises(ConfigError) as error:
        config_from_dict({"aws": {key: value}}, source="itube.toml", environ={})
    assert f"itube.toml: aws.{key}: {expected}, got {value}" in str(error.value)
