"""AWS black-holed (connections accepted, nothing answered), through a proxy in front of
the emulator: the routes that call AWS (sign-in, saving a video's metadata) answer 503
problem+json within `max_attempts × (connect + read)` seconds, every other route is
unaffected, `/readyz` says "degraded" (AWS is non-critical), and all recover on `resume`."""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from starlette.testclient import TestClient

from core.app import create_app
from core.aws import AwsClients
from core.config import AwsSection, Config, config_from_dict
from core.errors import ConfigError
from core.health import READINESS_BUDGET_SECONDS
from core.sessions import AUTH_PATH
from plugins.auth_cognito.config import PoolTarget
from plugins.auth_cognito.gateway import cognito_client
from tests.faults.support import (
    SERVICE,
    USER,
    VIDEOS,
    app_config,
    assert_unavailable,
    timed,
    wait_until,
)
from tests.video import workflow
from tests.video.workflow import Credentials

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


# -- credentials that cannot be refreshed --------------------------------------------------


class CredentialsEndpoint:
    """A container-credentials endpoint (what ECS serves at
    AWS_CONTAINER_CREDENTIALS_FULL_URI) on a free local port. It hands out credentials
    that expire in 5 minutes, inside botocore's mandatory refresh window, so every use of
    them refreshes; then `fail()` answers 500 and `hang()` answers nothing."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.released = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/credentials"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if endpoint.mode == "hang":
                    endpoint.released.wait(60)
                    return
                if endpoint.mode == "fail":
                    self.send_error(500, "credentials unavailable")
                    return
                expires = datetime.now(UTC) + timedelta(minutes=5)
                body = json.dumps({
                    "AccessKeyId": "ASIACONTAINER", "SecretAccessKey": "container-secret",
                    "Token": "container-token",
                    "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def fail(self) -> None:
        self.mode = "fail"

    def hang(self) -> None:
        self.mode = "hang"

    def __enter__(self) -> CredentialsEndpoint:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def container_credentials(monkeypatch: pytest.MonkeyPatch,
                          tmp_path) -> Iterator[CredentialsEndpoint]:
    """boto3's default credential chain finds nothing but the container endpoint."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with CredentialsEndpoint() as endpoint:
        monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", endpoint.url)
        yield endpoint


def chain_config(sqlite_url: str, moto_endpoint: str) -> Config:
    """The video plugin on the emulator, signing with what boto3's chain finds."""
    return config_from_dict({
        "app": {"plugins": ["video", "tests.support.stand_in_plugins"]},
        "database": {"url": sqlite_url, "migrate_on_start": True},
        "logging": {"access_log": False},
        "server": {"freeze_heap_after_startup": False},
        "aws": {"endpoint_url": moto_endpoint, "region": "us-east-1", **AWS},
    }, source="<faults>", environ={})


def make_buckets(moto_endpoint: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    for bucket in ("itube-raw-videos", "itube-processed-videos", "itube-video-thumbnails"):
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=bucket)


@pytest.mark.parametrize("fault", ["fail", "hang"])
def test_credentials_that_cannot_be_refreshed_answer_503_not_500(
    container_credentials, moto_endpoint, sqlite_url, fault, caplog
):
    make_buckets(moto_endpoint)
    with TestClient(create_app(chain_config(sqlite_url, moto_endpoint)),
                    base_url="https://testserver", raise_server_exceptions=False) as client:
        seen = workflow.run_workflow(client, Credentials(headers=USER),
                                     Credentials(headers=SERVICE))
        assert "X-Amz-Security-Token=container-token" in seen["playback_url"]

        getattr(container_credentials, fault)()
        for call in (
            lambda: client.post(f"{VIDEOS}/upload-url", headers=USER),
            # listings not cached yet sign their playback URLs
            lambda: client.get(f"{VIDEOS}/", params={"limit": 7}),
            lambda: client.get(f"{VIDEOS}/mine", headers=USER),
        ):
            assert_unavailable(call())
        assert "container-secret" not in caplog.text

        container_credentials.mode = "ok"
        assert client.post(f"{VIDEOS}/upload-url", headers=USER).status_code == 200
