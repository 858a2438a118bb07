"""`itube config check` and the console script."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from core.cli import main

EXAMPLE = "tests.core.example_plugin"
REPO = Path(__file__).resolve().parents[2]


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
    ]
    monkeypatch.delenv("ITUBE__AWS__SECRET_ACCESS_KEY")
    assert main(["config", "check", "--config", config]) == 2
    assert capsys.readouterr().err.splitlines()[1:] == [
        f"{config}: plugins.guestbook.moderator_key: expected str, got list (secret, not shown)",
    ]


def test_serve_refuses_a_bad_config_before_taking_a_port(tmp_path, capsys):
    config = write(tmp_path, '[app]\nplugins = ["local_aws", "auth_cognito", "auth_local"]\n')
    with socket.create_server(("127.0.0.1", 0)) as taken:  # were the config accepted: 3
        port = str(taken.getsockname()[1])
        assert main(["serve", "--config", config, "--port", port]) == 2
    assert "auth_cognito and auth_local both declare" in capsys.readouterr().err
