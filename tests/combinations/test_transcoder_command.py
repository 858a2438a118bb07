"""`itube transcoder-example` under either service-auth strategy, against a real server:
it signs with what the loaded strategy offers, finds the API on the `PORT` `make serve`
was given, and says in one line when the API does not answer."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.app import create_app, prepare
from core.cli import main
from core.config import ServerSection, load_config
from core.errors import ConfigError
from plugins.internal_iam.client import SigV4Signer
from plugins.internal_token.client import HmacTokenSigner
from plugins.video.transcoder_command import api_url, client_auth
from tests.internal_auth.strategies import HmacToken, SigV4Static
from tests.support.server import serving_in_thread
from tests.support.services import free_port
from tests.support.stand_ins import StandInUserAuthPlugin
from tests.video import workflow
from tests.video.workflow import Credentials

ALICE = Credentials(headers={"X-Test-User": "alice"})
STRATEGIES = {"internal_iam": SigV4Static(), "internal_token": HmacToken()}


def toml(tables: dict[str, dict[str, Any]]) -> str:
    """Flat TOML tables from `{"plugins.video": {...}}`; values as JSON (valid TOML here)."""
    return "\n".join(
        f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())
        for name, table in tables.items()
    )


def write_config(path: Path, *, strategy: str, port: int, db_url: str, moto_endpoint: str,
                 **service_settings: Any) -> Path:
    suffix = uuid.uuid4().hex[:10]
    settings = {**STRATEGIES[strategy].settings(), "expected_hosts": [f"127.0.0.1:{port}"],
                **service_settings}
    keys = settings.pop("keys")
    key_tables = ({f"plugins.internal_iam.keys.{key_id}": key for key_id, key in keys.items()}
                  if strategy == "internal_iam" else {"plugins.internal_token.keys": keys})
    path.write_text(toml({
        "app": {"plugins": ["local_aws", "video", strategy]},
        "database": {"url": db_url, "migrate_on_start": True},
        "logging": {"access_log": False},
        "server": {"freeze_heap_after_startup": False},
        "plugins.local_aws": {"endpoint_url": moto_endpoint, "raw_bucket": f"itube-raw-{suffix}",
                              "queue_name": f"itube-events-{suffix}"},
        f"plugins.{strategy}": settings,
        **key_tables,
        "plugins.transcoder_example": {
            "aws_endpoint_url": moto_endpoint, "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing", "queue_name": f"itube-events-{suffix}"},
    }))
    return path


def serving(path: Path, port: int) -> contextlib.AbstractContextManager[httpx.Client]:
    """The API on a real uvicorn server, configured from the TOML file."""
    app = create_app(load_config(path, environ={}), plugins=[StandInUserAuthPlugin()])
    return serving_in_thread(app, port)


@pytest.fixture
def command_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("ITUBE_CONFIG", raising=False)
    monkeypatch.delenv("PORT", raising=False)
    return monkeypatch


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_the_command_completes_an_upload_on_the_port_serve_was_given(
    strategy: str, tmp_path: Path, sqlite_url: str, moto_endpoint: str,
    command_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
):
    port = free_port()
    path = write_config(tmp_path / "itube.toml", strategy=strategy, port=port,
                        db_url=sqlite_url, moto_endpoint=moto_endpoint)
    command_env.setenv("PORT", str(port))  # as `make serve PORT=...` exports it
    with serving(path, port) as client:
        video_id = workflow.register(client, ALICE, workflow.upload(client, ALICE)).json()["id"]
        assert main(["--config", str(path), "transcoder-example", "--once",
                     "--wait-seconds", "0"]) == 0
        summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert summary.get("completed") == 1, summary
        video = workflow.get_video(client, ALICE, video_id).json()
    assert video["processing_status"] == "COMPLETED"


def test_an_api_that_does_not_answer_is_one_line_and_the_events_stay_queued(
    tmp_path: Path, sqlite_url: str, moto_endpoint: str, command_env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], make_client: Any,
):
    port = free_port()  # nothing listens there
    path = write_config(tmp_path / "itube.toml", strategy="internal_token", port=port,
                        db_url=sqlite_url, moto_endpoint=moto_endpoint)
    app = make_client(load_config(path, environ={}), plugins=[StandInUserAuthPlugin()])
    workflow.upload(app, ALICE)  # an upload event waits on the queue
    command_env.setenv("PORT", str(port))

    started = time.monotonic()
    assert main(["--config", str(path), "transcoder-example", "--once"]) == 1
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert f"the API at http://127.0.0.1:{port} does not answer" in err

    sqs = app.app.state.ctx.aws.client("sqs")
    queued = sqs.receive_message(QueueUrl=app.app.state.ctx.aws.resource(
        "sqs_raw_events_queue_url"), WaitTimeSeconds=1).get("Messages", [])
    assert queued, "the command took an event off the queue without handling it"


def test_without_a_service_auth_plugin_the_command_says_so(
    tmp_path: Path, command_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
):
    path = tmp_path / "itube.toml"
    path.write_text(toml({"app": {"plugins": ["local_aws", "video"]}}))
    assert main(["--config", str(path), "transcoder-example", "--once"]) == 2
    err = capsys.readouterr().err
    assert "none is loaded (add internal_iam or internal_token" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("environ", "configured", "server", "expected"), [
    ({}, "", ServerSection(), "http://127.0.0.1:8000"),
    ({}, "", ServerSection(host="0.0.0.0", port=8080), "http://127.0.0.1:8080"),
    ({}, "", ServerSection(host="::1", port=8080), "http://[::1]:8080"),
    ({}, "http://api.internal:81", ServerSection(), "http://api.internal:81"),
    ({"PORT": "9000"}, "http://127.0.0.1:8000", ServerSection(), "http://127.0.0.1:9000"),
    ({"PORT": "9000"}, "", ServerSection(host="localhost"), "http://localhost:9000"),
])
def test_the_api_is_found_where_serve_listens(environ: dict[str, str], configured: str,
                                              server: ServerSection, expected: str):
    assert api_url(None, configured, server, environ) == expected
    assert api_url("http://given:1", configured, server, environ) == "http://given:1"


def test_internal_token_signs_with_the_first_allowed_key_or_the_one_named(tmp_path: Path):
    def signer(**settings: Any) -> HmacTokenSigner:
        path = tmp_path / "itube.toml"
        path.write_text(toml({
            "app": {"plugins": ["video", "internal_token"]},
            "plugins.internal_token": {"allowed_principals": ["transcoder"],
                                       "expected_hosts": ["127.0.0.1"], **settings},
            "plugins.internal_token.keys": {"outsider": "o" * 40, "transcoder": "t" * 40},
        }))
        auth = client_auth(prepare(load_config(path, environ={})))
        assert isinstance(auth, HmacTokenSigner)
        return auth

    assert signer().key_id == "transcoder"
    assert signer(client_key_id="outsider").key_id == "outsider"
    with pytest.raises(ConfigError, match="client_key_id: 'nobody' is not a key") as refused:
        signer(client_key_id="nobody")
    assert "o" * 40 not in str(refused.value) and "t" * 40 not in str(refused.value)


def iam_config(tmp_path: Path, **tables: dict[str, Any]) -> Any:
    path = tmp_path / "itube.toml"
    path.write_text(toml({
        "app": {"plugins": ["video", "internal_iam"]},
        "plugins.internal_iam": {"allowed_principals": ["transcoder"],
                                 "expected_hosts": ["127.0.0.1"]},
        "plugins.internal_iam.keys.AKIAFIRSTKEY0000000": {"secret_access_key": "first-secret"},
        "plugins.internal_iam.keys.AKIASECONDKEY000000": {"secret_access_key": "second-secret"},
        **tables,
    }))
    return prepare(load_config(path, environ={}))


def test_internal_iam_signs_with_the_example_key_and_gateway_mode_cannot(tmp_path: Path):
    first = client_auth(iam_config(tmp_path))
    assert isinstance(first, SigV4Signer) and first.credentials.access_key == "AKIAFIRSTKEY0000000"
    named = client_auth(iam_config(tmp_path, **{
        "plugins.internal_iam.example": {"access_key_id": "AKIASECONDKEY000000"}}))
    assert isinstance(named, SigV4Signer)
    assert named.credentials.access_key == "AKIASECONDKEY000000"
    gateway = iam_config(tmp_path, **{
        "plugins.internal_iam": {"mode": "gateway", "allowed_principals": ["arn:*"]},
        "plugins.internal_iam.gateway": {"trusted_networks": ["10.0.0.0/8"],
                                         "shared_secret": "g" * 40}})
    with pytest.raises(ConfigError, match="gateway mode: send the example's requests through"):
        client_auth(gateway)
