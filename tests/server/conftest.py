"""Real `itube serve` processes, started the way an operator starts them, for the tests of
request heads, start-up and stop. Each test's process logs to a file it can read."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.process_group import stop_group
from tests.support.server import json_lines
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]
ITUBE = Path(sys.executable).parent / "itube"
STAND_IN = "tests.server.stand_in"


class Served:
    """One `itube serve` process: its port, its log, and ways to poke and stop it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
        self.process = process
        self.port = port
        self.log_path = log_path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        return json_lines(self.log_text())

    def assert_running(self) -> None:
        code = self.process.poll()
        assert code is None, f"exited with status {code}:\n{self.log_text()}"

    def wait_for_log(self, message: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while message not in self.log_text():
            self.assert_running()
            assert time.monotonic() < deadline, f"no {message!r} in the log:\n{self.log_text()}"
            time.sleep(0.05)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.assert_running()
            try:
                with urllib.request.urlopen(self.url("/healthz"), timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, f"not ready in {timeout} s:\n{self.log_text()}"
            time.sleep(0.1)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30) -> tuple[int, float]:
        """Send `sig`; the exit status and how long the process took to exit after it."""
        started = time.monotonic()
        self.process.send_signal(sig)
        return self.wait_exit(timeout), time.monotonic() - started

    def wait_exit(self, timeout: float = 30) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {timeout} s later:\n{self.log_text()}")


def config_text(port: int, tmp_path: Path, plugins: list[str], server: str, extra: str) -> str:
    names = ", ".join(f'"{name}"' for name in plugins)
    return f"""
[app]
plugins = [{names}]

[server]
host = "127.0.0.1"
port = {port}
freeze_heap_after_startup = false
{server}
[database]
url = "sqlite:///{tmp_path}/itube.db"
migrate_on_start = true

[logging]
level = "INFO"
access_log = true
{extra}
"""


def start_serve(config: Path, port: int, log_path: Path, args: list[str] | None = None
                ) -> Served:
    """`itube serve --config FILE` in a session of its own (its workers in its process
    group), from the config's directory, the repository importable, logging to `log_path`."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    environment.pop("ITUBE_CONFIG", None)
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [str(ITUBE), "serve", "--config", str(config), *(args or [])],
            cwd=config.parent, env=environment, stdin=subprocess.DEVNULL,
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    return Served(process, port, log_path)


@contextlib.contextmanager
def serving(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """What the `serve` fixture gives; on leaving, each server's process group is stopped,
    however the block ends."""
    started: list[Served] = []

    def start(extra: str = "", *, server: str = "", plugins: list[str] | None = None,
              port: int | None = None, args: list[str] | None = None) -> Served:
        port = free_port() if port is None else port
        index = len(started)
        config = tmp_path / f"itube-{index}.toml"
        config.write_text(config_text(port, tmp_path, plugins or [STAND_IN], server, extra))
        served = start_serve(config, port, tmp_path / f"itube-{index}.log", args)
        started.append(served)
        return served

    try:
        yield start
    finally:
        for served in started:
            stop_group(served.process)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    """`serve(extra_toml, server="key = value", plugins=[...], port=...)`: start `itube serve
    --config FILE` (`server` goes in `[server]`; the repository is importable, so
    `tests.server.stand_in` loads); afterwards its whole process group is stopped."""
    with serving(tmp_path) as start:
        yield start


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something else is listening on."""
    with socket.create_server(("127.0.0.1", 0)) as holder:
        yield holder.getsockname()[1]
