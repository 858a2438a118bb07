"""`itube config check` and the console script."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main
from core.log import JsonHandler

EXAMPLE = "tests.core.example_plugin"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _no_json_logs_left_behind():
    """`itube serve` configures the process's logging; later tests print only their own."""
    yield
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, JsonHandler)]


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "check.toml"
    path.write_text(text)
    return str(path)


def test_config_check_prints_the_effective_config_with_secrets_masked(tmp_path, capsys,
                                                                        monkeypatch):
    monkeypatch.setenv("MODERATOR_KEY", "hunter2-moderator")
    monkeypatch.setenv("ITUBE__AWS__SECRET_ACCESS_KEY", "aws-secret-value")
    config = write(tmp_path, f"""
[app]
plugins = ["{EXAMPLE}"]
[database]
url = "postgresql://itube:db-password@db.internal:5432/itube?sslmode=require"
[aws]
access_key_id = "AKIAEXAMPLE"
[plugins.guestbook]
title = "Visitors"
moderator_key = "env:MODERATOR_KEY"
""")
    assert main(["config", "check", "--config", config]) == 0
    out, err = capsys.readouterr()
    for secret in ("db-password", "hunter2-moderator", "aws-secret-value", "AKIAEXAMPLE"):
        assert secret not in out
    effective = json.loads(out)
    assert effective["database"]["url"] == (
        "postgresql://itube:********@db.internal:5432/itube?sslmode=require"
    )
    assert effective["aws"]["secret_access_key"] == "********"
    assert effective["aws"]["session_token"] == ""  # empty: nothing to hide
    assert effective["plugins"]["guestbook"] == {
        "title": "Visitors", "page_size": 20, "moderator_key": "********",
    }
    assert effective["env_overrides"] == {"aws.secret_access_key": "ITUBE__AWS__SECRET_ACCESS_KEY"}
    assert err.strip() == f"config OK: {config}"


def test_config_check_exits_non_zero_with_the_message(tmp_path, capsys):
    config = write(tmp_path, f'[app]\nplugins = ["{EXAMPLE}"]\n[plugins.guestbook]\ntitel = "x"\n')
    assert main(["config", "check", "--config", config]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "configuration error:\n"
        f"{config}: plugins.guestbook.titel: unknown key "
        "(expected one of: title, page_size, moderator_key)\n"
        f"1 problem in {config}\n"
    )
    assert main(["config", "check", "--config", str(tmp_path / "absent.toml")]) == 2
    assert "absent.toml: no such config file" in capsys.readouterr().err


HELLO_PLUGIN = """
from core.plugins import hookimpl


@hookimpl
def register_commands(subparsers):
    hello = subparsers.add_parser("hello", help="say hello")
    hello.add_argument("--name", default="world")
    hello.set_defaults(func=lambda args: print(f"hello {args.name} from {args.config}"))
"""


@pytest.mark.hooks("register_commands")
def test_plugins_add_sub_commands(tmp_path, capsys, monkeypatch):
    (tmp_path / "team_commands").mkdir()
    (tmp_path / "team_commands" / "hello.py").write_text(HELLO_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    config = write(tmp_path, '[app]\nplugins = ["team_commands.hello"]\n')
    assert main(["hello", "--name", "ada", "--config", config]) == 0
    assert capsys.readouterr().out.strip() == f"hello ada from {config}"


def test_the_console_script_is_installed(tmp_path):
    itube = Path(sys.executable).parent / "itube"
    config = write(tmp_path, "[database]\nurl = 'sqlite:///x.db'\n")
    done = subprocess.run([str(itube), "config", "check", "--config", config],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["database"]["url"] == "sqlite:///x.db"


def test_config_check_refuses_two_plugins_claiming_one_route(tmp_path, capsys):
    config = write(tmp_path, '[app]\nplugins = ["local_aws", "auth_cognito", "auth_local"]\n')
    assert main(["config", "check", "--config", config]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(
        f"configuration error:\n{config}: app.plugins: auth_cognito and auth_local both "
        "declare POST /api/v1/auth/register, "
    )


def test_a_config_error_never_prints_a_secret(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ITUBE__AWS__SECRET_ACCESS_KEY", '["wJalrXUtnFEMI-secret"]')
    config = write(tmp_path, f'[app]\nplugins = ["{EXAMPLE}"]\n'
                             '[plugins.guestbook]\nmoderator_key = ["hunter2-moderator"]\n')
    assert main(["config", "check", "--config", config]) == 2
    err = capsys.readouterr().err
    assert "wJalrXUtnFEMI-secret" not in err and "hunter2-moderator" not in err
    assert err.splitlines()[1:] == [
        f"{config}: aws.secret_access_key: expected str, got list (secret, not shown) "
        "(set by ITUBE__AWS__SECRET_ACCESS_KEY)",
        f"{config}: plugins.guestbook.moderator_key: expected str, got list (secret, not shown)",
        f"2 problems in {config}",
    ]


def test_serve_refuses_a_bad_config_before_taking_a_port(tmp_path, capsys):
    config = write(tmp_path, '[app]\nplugins = ["local_aws", "auth_cognito", "auth_local"]\n')
    with socket.create_server(("127.0.0.1", 0)) as taken:  # were the config accepted: 3
        port = str(taken.getsockname()[1])
        assert main(["serve", "--config", config, "--port", port]) == 2
    assert "auth_cognito and auth_local both declare" in capsys.readouterr().err


# -- every problem in one run ----------------------------------------------------------------

BAD_PRODUCTION = """
[app]
environment = "production"
plugins = ["internal_iam", "video"]
[database]
url = "sqlite:///prod.db"
[http]
cors_origins = ["https://app.example.com", "http://localhost:3000", "null"]
trusted_proxies = ["env:ITUBE_TRUSTED_PROXIES"]
[aws]
access_key_id = "env:AWS_ACCESS_KEY_ID"
secret_access_key = "env:AWS_SECRET_ACCESS_KEY"
[plugins.internal_iam]
mode = "sts"
allowed_principals = ["*"]
expected_hosts = ["env:ITUBE_SERVICE_HOSTS"]
[plugins.video]
raw_bucket = "env:S3_RAW_VIDEOS_BUCKET"
processed_bucket = ""
thumbnails_bucket = "env:S3_VIDEO_THUMBNAILS_BUCKET"
"""


def test_config_check_reports_every_problem_of_a_production_config_in_one_run(
    tmp_path, capsys, monkeypatch
):
    for name in ("ITUBE_TRUSTED_PROXIES", "S3_RAW_VIDEOS_BUCKET", "S3_VIDEO_THUMBNAILS_BUCKET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2-short")
    monkeypatch.setenv("ITUBE_SERVICE_HOSTS", "")  # what compose passes for ${VAR:-}
    monkeypatch.setenv("ITUBE__SERVER__PORT", "")
    config = write(tmp_path, BAD_PRODUCTION)
    assert main(["config", "check", "--config", config]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    expected = [
        "ITUBE__SERVER__PORT: server.port: the variable is empty",
        f"{config}: http.trusted_proxies: environment variable ITUBE_TRUSTED_PROXIES is not set",
        f"{config}: plugins.internal_iam.expected_hosts: environment variable "
        "ITUBE_SERVICE_HOSTS is empty",
        f"{config}: plugins.video.raw_bucket: environment variable S3_RAW_VIDEOS_BUCKET "
        "is not set",
        f"{config}: plugins.video.thumbnails_bucket: environment variable "
        "S3_VIDEO_THUMBNAILS_BUCKET is not set",
        f"{config}: database.url: SQLite is for development and tests",
        f"{config}: http.cors_origins: 'http://localhost:3000' is a development origin",
        f"{config}: http.cors_origins: 'null' is a development origin",
        f"{config}: aws.secret_access_key: an AWS secret access key is 40 characters long, "
        "got 13",
        f"{config}: plugins.internal_iam.allowed_principals: '*' would admit callers of any "
        "AWS account",
        f"{config}: plugins.video.processed_bucket: empty; name the S3 bucket",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), start
    # Each problem once: the empty value left for a missing variable is not reported again.
    assert len(lines) == 1 + len(expected) + 1
    assert lines[-1] == f"{len(expected)} problems in {config}"
    assert "hunter2-short" not in err


def test_an_empty_variable_falls_back_to_the_references_default(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ITUBE_TEST_PORT", "")
    config = write(tmp_path, '[server]\nport = "env:ITUBE_TEST_PORT|8123"\n')
    assert main(["config", "check", "--config", config]) == 0
    assert json.loads(capsys.readouterr().out)["server"]["port"] == 8123


# -- workers and the in-process cache ----------------------------------------------------------


def test_several_workers_with_the_in_process_cache_are_refused_in_production(tmp_path, capsys):
    config = write(tmp_path, "[app]\nenvironment = 'production'\n[server]\nworkers = 2\n"
                             "[database]\nurl = 'postgresql://u@127.0.0.1/itube'\n"
                             "[http]\ntrusted_proxies = ['10.0.0.0/16']\n")
    assert main(["config", "check", "--config", config]) == 2
    assert "server.workers: 2 workers would each keep their own in-process cache" in (
        capsys.readouterr().err
    )
    # `serve --workers` is refused the same way, before a port is taken.
    single = write(tmp_path, "[app]\nenvironment = 'production'\n"
                             "[database]\nurl = 'postgresql://u@127.0.0.1/itube'\n"
                             "[http]\ntrusted_proxies = ['10.0.0.0/16']\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert main(["serve", "--config", single, "--port", port, "--workers", "3"]) == 2
    assert "server.workers: 3 workers" in capsys.readouterr().err


def test_several_workers_with_the_in_process_cache_are_a_warning_in_development(
    tmp_path, capsys, caplog
):
    config = write(tmp_path, "[server]\nworkers = 2\n")
    assert main(["config", "check", "--config", config]) == 0
    assert "server.workers: 2 workers would each keep their own in-process cache" in caplog.text
    with_redis = write(tmp_path, "[app]\nplugins = ['cache_redis']\n[server]\nworkers = 2\n")
    caplog.clear()
    assert main(["config", "check", "--config", with_redis]) == 0
    assert "in-process cache" not in caplog.text


# -- the rest of the command line --------------------------------------------------------------


def test_version(capsys):
    from core import __version__

    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out.strip() == f"itube {__version__}"


def test_migrate_against_an_unreachable_database_is_one_line(tmp_path, capsys):
    from tests.support.services import free_port

    config = write(tmp_path, f"[database]\nurl = 'postgresql://u:pw-secret@127.0.0.1:{free_port()}"
                             "/itube'\nconnect_timeout_seconds = 1\n")
    assert main(["migrate", "--config", config]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("itube: cannot reach the database at postgresql://u:********@127.0.0.1")
    assert "pw-secret" not in err and "Traceback" not in err


def test_config_check_connect_reports_pending_migrations_then_ok(tmp_path, capsys):
    config = write(tmp_path, f"[app]\nplugins = ['{EXAMPLE}']\n"
                             f"[database]\nurl = 'sqlite:///{tmp_path}/itube.db'\n")
    assert main(["config", "check", "--connect", "--config", config]) == 1
    err = capsys.readouterr().err
    assert "database: failing: migrations not applied: guestbook:" in err
    assert main(["migrate", "--config", config]) == 0
    capsys.readouterr()
    assert main(["config", "check", "--connect", "--config", config]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == f"config OK: {config}"


def test_config_check_connect_reports_an_unreachable_database(tmp_path, capsys):
    from tests.support.services import free_port

    config = write(tmp_path, f"[database]\nurl = 'postgresql://u@127.0.0.1:{free_port()}/itube'"
                             "\nconnect_timeout_seconds = 1\n")
    assert main(["config", "check", "--connect", "--config", config]) == 1
    assert "start-up failed: failing: ConnectionRefusedError" in capsys.readouterr().err


THIRD_PARTY_LINES = """
import logging, warnings
from core.log import configure_logging
configure_logging("INFO")
logging.getLogger("piccolo.engine.base").info("Running Sqlite version 3.4")
logging.getLogger("uvicorn.error").info("Application startup complete.")
logging.getLogger("moto").warning("emulated")
logging.getLogger("itube.app").info("started")
warnings.warn("Unable to connect to database")
"""


def test_every_log_line_is_json_the_libraries_too():
    done = subprocess.run([sys.executable, "-c", THIRD_PARTY_LINES], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(line["logger"], line["level"]) for line in lines] == [
        ("piccolo.engine.base", "INFO"), ("uvicorn.error", "INFO"), ("moto", "WARNING"),
        ("itube.app", "INFO"), ("py.warnings", "WARNING"),
    ]
    assert "Unable to connect to database" in lines[-1]["msg"]


def test_an_unknown_plugin_is_reported_with_the_other_problems(tmp_path, capsys):
    config = write(tmp_path, "[app]\nplugins = ['no_such_plugin']\n[server]\nport = -1\n")
    assert main(["config", "check", "--config", config]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[1] == f"{config}: server.port: expected 0-65535, got -1"
    assert lines[2].startswith("app.plugins: unknown plugin 'no_such_plugin'")
    assert lines[3] == f"2 problems in {config}"
