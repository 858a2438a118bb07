"""Fixtures shared by every test package.

- `db_url`: every test that touches the database runs twice, on SQLite (a file in a temp
  dir) and on PostgreSQL (a fresh database per test, dropped afterwards).
- `moto_endpoint`: one moto server for the session; each app provisions its own user pool.
- `redis_server`: a Redis server of the test's own, to kill and restart (fault tests).
- `make_config` / `make_client`: a config for a plugin list, and a TestClient with its
  lifespan running.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from moto.server import ThreadedMotoServer
from starlette.testclient import TestClient

from core.app import create_app
from core.config import Config, config_from_dict
from tests.support import emulator, services
from tests.support.redis_server import RedisServer
from tests.support.shared_loop import SharedLoopTestClient


def pytest_configure(config: pytest.Config) -> None:
    emulator.share_user_pool_key()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """The app runs on asyncio only; anyio would also run async tests on trio whenever trio
    is importable (selenium brings it in)."""
    return "asyncio"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def postgres_available() -> None:
    services.require_postgres()


@pytest.fixture(scope="session")
def redis_url() -> str:
    services.require_redis()
    return services.REDIS_URL


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A `redis-server` of the test's own on a free port, to kill and restart."""
    server = RedisServer()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    import redis

    prefix = f"itube-test-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def postgres_url(postgres_available: None) -> Iterator[str]:
    url = services.create_postgres_database()
    yield url
    services.drop_postgres_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path}/itube.db"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Parametrises a test over both database backends."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def make_config(db_url: str, moto_endpoint: str) -> Callable[..., Config]:
    """`make_config(["video"], plugins={"video": {...}})`: local AWS on the shared moto
    server, the parametrised database, migrations at start-up."""

    def make(plugin_names: list[str] | None = None, **sections: Any) -> Config:
        names = ["local_aws", *(plugin_names or [])]
        plugin_settings = sections.pop("plugins", {})
        data: dict[str, Any] = {
            "app": {"plugins": names},
            "database": {"url": db_url, "migrate_on_start": True},
            "logging": {"access_log": False},
            # Many apps start in one process here: freezing each one's heap would keep
            # the garbage of every earlier app alive.
            "server": {"freeze_heap_after_startup": False},
            "plugins": {"local_aws": {"endpoint_url": moto_endpoint}, **plugin_settings},
        }
        for name, section in sections.items():
            data.setdefault(name, {}).update(section)
        return config_from_dict(data, source="<test>", environ={})

    return make


@pytest.fixture
def make_client() -> Iterator[Callable[..., TestClient]]:
    """`make_client(config, plugins=[...])`: a TestClient whose lifespan runs until the test
    ends. Extra plugin objects (stand-ins, inline test plugins) register after the config's.
    A test's apps all run on one event loop (tests/support/shared_loop.py)."""
    with contextlib.ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal("asyncio"))

        def make(config: Config, plugins: list[object] | None = None, **kw: Any) -> TestClient:
            app = create_app(config, plugins=plugins or [])
            client = SharedLoopTestClient(app, portal=portal, raise_server_exceptions=False,
                                          **kw)
            return stack.enter_context(client)

        yield make
