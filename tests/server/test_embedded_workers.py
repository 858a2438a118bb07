"""`itube serve --workers 2` on the embedded default (config/default.toml: the AWS emulator
in-process, Cognito sign-in, SQLite): the workers share one emulator and one user pool, so
a session made through one worker is verified by every other."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from core.sessions import AUTH_PATH
from tests.server.conftest import REPO, Served, start_serve
from tests.support.process_group import stop_group
from tests.support.services import free_port

PASSWORD = "SecurePass123!"
CHECKS = 30  # new connections: the listening socket hands them to both workers


def embedded_default(tmp_path: Path, port: int, emulator_port: int) -> str:
    """config/default.toml on free ports, its SQLite file in `tmp_path`."""
    text = (REPO / "config" / "default.toml").read_text()
    for old, new in (
        ("port = 8000", f"port = {port}"),
        ("port = 4566", f"port = {emulator_port}"),
        ("http://127.0.0.1:4566", f"http://127.0.0.1:{emulator_port}"),
        ('url = "sqlite:///var/itube.db"', f'url = "sqlite:///{tmp_path}/itube.db"'),
    ):
        assert old in text, f"config/default.toml no longer says {old!r}"
        text = text.replace(old, new)
    return text


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Served]:
    """`itube serve --workers 2` on the embedded default; afterwards its whole process
    group is stopped."""
    port = free_port()
    config = tmp_path / "itube.toml"
    config.write_text(embedded_default(tmp_path, port, free_port()))
    served = start_serve(config, port, tmp_path / "itube.log", ["--workers", "2"])
    try:
        yield served
    finally:
        stop_group(served.process)


def signed_in(url: str) -> str:
    """Register (auto-confirmed) and sign in over one connection; the access token."""
    account = {"email": "ada@example.com", "password": PASSWORD}
    with httpx.Client(base_url=url, timeout=20) as api:
        register = api.post(f"{AUTH_PATH}/register", json={"name": "Ada", **account})
        assert register.status_code == 201, register.text
        login = api.post(f"{AUTH_PATH}/login", json=account)
        assert login.status_code == 200, login.text
        return login.cookies["access_token"]


def test_a_session_made_by_one_worker_is_verified_by_the_other(embedded: Served):
    embedded.wait_ready()
    embedded.wait_for_log("started")
    token = signed_in(embedded.url(""))
    answers = []
    for _ in range(CHECKS):
        with httpx.Client(timeout=20) as fresh:  # a new connection each time
            me = fresh.get(embedded.url(f"{AUTH_PATH}/me"),
                           headers={"Cookie": f"access_token={token}"})
        answers.append((me.status_code, me.text))
    assert [status for status, _ in answers] == [200] * CHECKS, answers
    assert {body for _, body in answers} == {answers[0][1]}
    workers = set(re.findall(r"Started server process \[(\d+)\]", embedded.log_text()))
    assert len(workers) == 2, embedded.log_text()
    # one emulator, provisioned once, for both
    assert embedded.log_text().count("local AWS emulation ready") == 1, embedded.log_text()
    code, _ = embedded.stop()
    assert code == 0, embedded.log_text()
