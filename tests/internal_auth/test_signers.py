"""Signers the project did not write are accepted: `requests-aws4auth`, `aws-requests-auth`,
botocore's own `SigV4Auth` and curl's `--aws-sigv4`, against a real uvicorn server
configured with the embedded default's `[plugins.internal_iam]` table (its development key
pair and its expected hosts, on a port of its own). A query the client sends with raw UTF-8
bytes verifies too: it signs the AWS canonical (percent-encoded) form."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
import requests
import uvicorn
from aws_requests_auth.aws_auth import AWSRequestsAuth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from requests_aws4auth import AWS4Auth
from starlette.testclient import TestClient

from core.app import create_app
from core.auth import AuthenticationFailed
from core.cache import MemoryCache
from core.config import config_from_dict
from core.hosts import ExpectedHosts
from core.replay import ReplayGuard
from plugins.internal_iam.authenticator import received_request
from plugins.internal_iam.config import DEVELOPMENT_ACCESS_KEY_ID, DEVELOPMENT_SECRET_ACCESS_KEY
from plugins.internal_token.authenticator import HmacTokenAuthenticator
from tests.internal_auth.routes import InlineRoutesPlugin
from tests.internal_auth.strategies import HmacToken
from tests.support.services import free_port

DEFAULT_TOML = Path(__file__).resolve().parents[2] / "config" / "default.toml"
REGION, SERVICE = "us-east-1", "execute-api"
GOOD = Credentials(DEVELOPMENT_ACCESS_KEY_ID, DEVELOPMENT_SECRET_ACCESS_KEY)
WRONG = Credentials(DEVELOPMENT_ACCESS_KEY_ID, "not-the-development-secret")
# What a transcoder sends: reserved characters, a space, a plus, non-ASCII text.
AWKWARD_QUERY = {"name": "clip é 1", "b": "x+y", "a": "/", "empty": ""}


def embedded_default_settings() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_TOML.read_text())["plugins"]["internal_iam"]


def default_app(tmp_path: Path) -> Any:
    config = config_from_dict({
        "app": {"plugins": ["internal_iam"]},
        "database": {"url": f"sqlite:///{tmp_path}/signers.db", "migrate_on_start": True},
        "logging": {"access_log": False},
        "server": {"freeze_heap_after_startup": False},
        "plugins": {"internal_iam": embedded_default_settings()},
    }, source="<test>", environ={})
    return create_app(config, plugins=[InlineRoutesPlugin()])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[int]:
    """The port of a uvicorn server (in a thread) with the embedded default's settings."""
    port = free_port()
    uvicorn_server = uvicorn.Server(uvicorn.Config(default_app(tmp_path), host="127.0.0.1",
                                                   port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)


# -- the signers: (method, url, credentials, params, json body) -> response ------------------

Signer = Callable[..., requests.Response]


def with_aws4auth(method: str, url: str, credentials: Credentials, *, port: int,
                  params: dict[str, str] | None = None, body: Any = None) -> requests.Response:
    auth = AWS4Auth(credentials.access_key, credentials.secret_key, REGION, SERVICE)
    return requests.request(method, url, params=params, json=body, auth=auth, timeout=10)


def with_aws_requests_auth(method: str, url: str, credentials: Credentials, *, port: int,
                           params: dict[str, str] | None = None, body: Any = None
                           ) -> requests.Response:
    auth = AWSRequestsAuth(aws_access_key=credentials.access_key,
                           aws_secret_access_key=credentials.secret_key,
                           aws_host=f"127.0.0.1:{port}", aws_region=REGION, aws_service=SERVICE)
    return requests.request(method, url, params=params, json=body, auth=auth, timeout=10)


def with_botocore(method: str, url: str, credentials: Credentials, *, port: int,
                  params: dict[str, str] | None = None, body: Any = None) -> requests.Response:
    """As botocore signs its own API calls: query parameters as `params`, then `prepare()`."""
    data = json.dumps(body).encode() if body is not None else b""
    headers = {"content-type": "application/json"} if body is not None else {}
    aws = AWSRequest(method=method, url=url, params=params or {}, data=data, headers=headers)
    SigV4Auth(credentials, SERVICE, REGION).add_auth(aws)
    prepared = aws.prepare()
    return requests.request(method, prepared.url, data=data, headers=dict(prepared.headers),
                            timeout=10)


SIGNERS = {"requests-aws4auth": with_aws4auth, "aws-requests-auth": with_aws_requests_auth,
           "botocore": with_botocore}


@pytest.fixture(params=list(SIGNERS))
def signer(request: pytest.FixtureRequest) -> Signer:
    return SIGNERS[request.param]


def item() -> str:
    # Each request its own item: two signers signing the same PATCH within one second
    # produce the same signature, and the second would rightly be a replay.
    return uuid.uuid4().hex


def test_a_key_with_encoded_slashes_spaces_and_utf8(signer: Signer, server: int):
    key = "videos/user 1/clip é+1.mp4"
    url = f"http://127.0.0.1:{server}/internal/objects/{quote(key, safe='')}"
    response = signer("GET", url, GOOD, port=server)
    assert response.status_code == 200, response.text
    assert response.json() == {"key": key, "principal": "transcoder", "method": "sigv4"}


def test_an_awkward_query(signer: Signer, server: int):
    url = f"http://127.0.0.1:{server}/internal/objects/a/b"
    response = signer("GET", url, GOOD, port=server, params=AWKWARD_QUERY)
    assert response.status_code == 200, response.text


def test_a_status_report_in_the_query(signer: Signer, server: int):
    url = f"http://127.0.0.1:{server}/internal/items/{item()}/status"
    response = signer("PATCH", url, GOOD, port=server, params={"status": "COMPLETED"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "COMPLETED"


def test_a_status_report_in_a_json_body(signer: Signer, server: int):
    url = f"http://127.0.0.1:{server}/internal/items/{item()}/status"
    response = signer("PATCH", url, GOOD, port=server,
                      body={"status": "FAILED", "failure_reason": "empty"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "FAILED"


def test_a_wrong_secret_is_refused(signer: Signer, server: int):
    url = f"http://127.0.0.1:{server}/internal/items/{item()}/status"
    response = signer("PATCH", url, WRONG, port=server, params={"status": "COMPLETED"})
    assert response.status_code == 401
    assert response.json()["detail"] == "signature mismatch"


def test_signed_for_a_host_of_another_deployment(server: int):
    """The same key, a valid signature, but addressed to staging: the Host is not ours."""
    url = f"http://127.0.0.1:{server}/internal/objects/a"
    aws = AWSRequest(method="GET", url="http://staging.example/internal/objects/a")
    SigV4Auth(GOOD, SERVICE, REGION).add_auth(aws)
    response = requests.get(url, headers={**dict(aws.headers), "host": "staging.example"},
                            timeout=10)
    assert response.status_code == 401
    assert response.json()["detail"] == "request is for another host"


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_the_readme_curl_command(server: int, host: str):
    """The README's command, on another port than 8000: a bare expected host is any port."""
    url = f"http://{host}:{server}/internal/objects/videos/u-1/clip.mp4"
    result = subprocess.run(
        ["curl", "-sS", "--aws-sigv4", f"aws:amz:{REGION}:{SERVICE}", "--user",
         f"{GOOD.access_key}:{GOOD.secret_key}", url],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["key"] == "videos/u-1/clip.mp4", result.stdout


# -- raw UTF-8 in the query (through the ASGI app: uvicorn answers 400 to raw non-ASCII) ---


def raw_asgi_request(client: TestClient, method: str, raw_path: bytes, query: bytes,
                     headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Send exactly these bytes to the app, which httpx and the TestClient would escape."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": unquote(raw_path.decode()), "raw_path": raw_path,
        "root_path": "", "query_string": query, "client": ("127.0.0.1", 50000),
        "server": ("localhost", 8000), "extensions": {}, "state": dict(client.app_state),
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    assert client.portal is not None
    client.portal.call(client.app, scope, receive, send)
    body = b"".join(message.get("body", b"") for message in sent)
    return sent[0]["status"], json.loads(body)


def test_raw_utf8_in_the_query_verifies(tmp_path: Path):
    """The client signs `name=clip%20%C3%A9` (AWS's canonical form, here botocore's) and
    sends `name=clip%20é` with the é as two raw bytes."""
    aws = AWSRequest(method="GET", url="http://localhost:8000/internal/objects/a",
                     params={"name": "clip é"})
    SigV4Auth(GOOD, SERVICE, REGION).add_auth(aws)
    headers = {"host": "localhost:8000", "x-amz-date": aws.headers["x-amz-date"],
               "authorization": aws.headers["authorization"]}
    with TestClient(default_app(tmp_path)) as client:
        status, body = raw_asgi_request(client, "GET", b"/internal/objects/a",
                                        "name=clip%20é".encode(), headers)
        assert status == 200, body
        tampered, problem = raw_asgi_request(client, "GET", b"/internal/objects/a",
                                             "name=clip%20è".encode(), headers)
        assert tampered == 401 and problem["detail"] == "signature mismatch"


def test_a_request_target_that_is_not_utf8_is_refused():
    """Two byte strings must never read as one text that a signature was made over."""
    scope = {"method": "GET", "raw_path": b"/internal/objects/a", "query_string": b"n=\xff",
             "headers": [(b"host", b"localhost")]}
    with pytest.raises(AuthenticationFailed, match="not valid UTF-8"):
        received_request(scope, b"")
    with pytest.raises(AuthenticationFailed, match="not valid UTF-8"):
        received_request({**scope, "raw_path": b"/a\xc3", "query_string": b""}, b"")
    token = HmacToken()
    hmac_auth = HmacTokenAuthenticator(
        keys=token.secrets, allowed=["transcoder"], max_skew=300,
        expected_hosts=ExpectedHosts.parse(["localhost"]),
        replay=ReplayGuard(MemoryCache(), namespace="test"))
    signed = token.sign(httpx.Request("GET", "http://localhost/internal/objects/a?n=x"))
    scope["headers"] = [(b"host", b"localhost"),
                        (b"authorization", signed.headers["authorization"].encode())]
    with pytest.raises(AuthenticationFailed, match="not valid UTF-8"):
        asyncio.run(hmac_auth.authenticate(SimpleNamespace(scope=scope), b""))
