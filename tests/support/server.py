"""The API on a real uvicorn server: in a process of its own (`uvicorn core.asgi:app`,
config from a file, its JSON log in a file the test reads), or in a thread of the test's
process when the app carries plugin objects made by the test."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from tests.support.process_group import stop_group
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]


def json_lines(text: str) -> list[dict[str, Any]]:
    """A server's JSON log lines; anything else (a bare traceback) as `{"raw": line}`."""
    lines = []
    for line in text.splitlines():
        try:
            lines.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            lines.append({"raw": line})
    return lines


class ServerFailed(RuntimeError):
    """The server exited, or was not ready in time; the message holds its log."""


class UvicornProcess:
    def __init__(self, config: Path, log: Path, port: int | None = None) -> None:
        self.port = free_port() if port is None else port
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        self.log = log
        self._log_file = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "core.asgi:app", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log"],
            cwd=ROOT, env={**os.environ, "ITUBE_CONFIG": str(config)},
            stdout=subprocess.DEVNULL, stderr=self._log_file, start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Until `/readyz` answers 200; ServerFailed when it exits or takes longer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"the server exited:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerFailed(f"the server was not ready in {timeout}s:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        return json_lines(self.log_text())

    def log_messages(self) -> list[str]:
        return [str(line.get("msg", line.get("raw", ""))) for line in self.log_lines()]

    def stop(self) -> None:
        """Stop the server and every process it started (see `stop_group`)."""
        try:
            stop_group(self.process)
        finally:
            self._log_file.close()


def shared_state_config(*, database: str, moto: str, redis_url: str, prefix: str,
                        extra: str = "") -> str:
    """A config for API processes sharing one database, one Redis key prefix and the moto
    server: the video plugin with the stand-in auth plugins; `extra` adds TOML sections."""
    return f"""
[app]
plugins = ["local_aws", "cache_redis", "video", "tests.support.stand_in_plugins"]

[database]
url = "{database}"
migrate_on_start = true

[logging]
level = "WARNING"
access_log = false

[plugins.local_aws]
endpoint_url = "{moto}"

[plugins.cache_redis]
url = "{redis_url}"
key_prefix = "{prefix}"
# A healthy Redis on a busy machine: no call should time out here.
socket_timeout_seconds = 2.0
connect_timeout_seconds = 2.0
{extra}"""


@contextlib.contextmanager
def two_processes(config: Path, logs: Path) -> Iterator[tuple[UvicornProcess, UvicornProcess]]:
    """Two API processes on `config`, started one after the other (the first migrates),
    their logs in `logs`; both stopped afterwards."""
    servers: list[UvicornProcess] = []
    try:
        for name in ("a", "b"):
            server = UvicornProcess(config, logs / f"server-{name}.log")
            servers.append(server)
            server.wait_ready()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


@contextlib.contextmanager
def serving_in_thread(app: Any, port: int, timeout: float = 20) -> Iterator[httpx.Client]:
    """`app` on uvicorn in a thread, listening on `port`; a client of it while it runs."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ServerFailed("the server did not start")
        time.sleep(0.02)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)
