"""Fixtures of the fault tests: PostgreSQL and the AWS emulator behind a `FaultProxy`, and
a real server process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support import ItubeServer, through, upstream_of
from tests.support.proxy import FaultProxy
from tests.support.services import POSTGRES_ADMIN_URL, free_port


@pytest.fixture
def postgres_proxy(postgres_url: str) -> Iterator[tuple[FaultProxy, str]]:
    """A proxy in front of the shared PostgreSQL, and a fresh database's URL through it."""
    with FaultProxy(*upstream_of(POSTGRES_ADMIN_URL)) as proxy:
        yield proxy, through(postgres_url, proxy.port)


@pytest.fixture
def aws_proxy(moto_endpoint: str) -> Iterator[tuple[FaultProxy, str]]:
    """A proxy in front of the session's AWS emulator, and the endpoint through it."""
    with FaultProxy(*upstream_of(moto_endpoint)) as proxy:
        yield proxy, f"http://127.0.0.1:{proxy.port}"


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[object]:
    """`start_server(config_toml)`: a ready uvicorn process, stopped after the test."""
    servers: list[ItubeServer] = []

    def start(config_toml: str) -> ItubeServer:
        server = ItubeServer(config_toml, tmp_path, free_port())
        servers.append(server)
        server.wait_ready()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

