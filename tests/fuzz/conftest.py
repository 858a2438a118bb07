"""The server the fuzz passes run against, one per database backend (tests/fuzz/budget.py),
the seeded videos and the schema each pass loads; the figures printed at the end."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis

from tests.fuzz.accounts import Account, cookie_auth
from tests.fuzz.budget import DATABASES
from tests.fuzz.figures import FIGURES
from tests.fuzz.seed import Seed, seed_videos
from tests.fuzz.server import REGION, SERVICE_KEY, FuzzServer
from tests.fuzz.signing import BotocoreSigV4
from tests.support import services

CONFIG_FILE = Path(__file__).with_name("schemathesis.toml")
# How often a generated path parameter is replaced by a seeded video's id or key.
SEEDED_PROBABILITY = 0.5


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, figures in FIGURES.items():
        terminalreporter.write_line(figures.line(name))


@pytest.fixture(scope="module", params=DATABASES)
def fuzz_server(request: pytest.FixtureRequest, moto_endpoint: str,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    workdir = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    if request.param == "postgres":
        services.require_postgres()
        database = services.create_postgres_database()
    else:
        database = f"sqlite:///{workdir}/itube.db"
    server = FuzzServer(workdir, backend=request.param, database=database, moto=moto_endpoint)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
        if request.param == "postgres":
            services.drop_postgres_database(database)


@pytest.fixture(scope="module")
def account(fuzz_server: FuzzServer) -> Account:
    """The user who owns the seeded videos and signs the signed-in pass in."""
    return Account(fuzz_server.url)


@pytest.fixture(scope="module")
def seed(fuzz_server: FuzzServer, account: Account) -> Seed:
    return seed_videos(fuzz_server.url, account)


def schemathesis_config(seed: Seed) -> Any:
    """tests/fuzz/schemathesis.toml, with the seeded ids and keys among the values tried
    for `video_id` and `s3_key`."""
    data = tomllib.loads(CONFIG_FILE.read_text(encoding="utf-8"))
    data["dictionaries"] = {"seeded-video-ids": {"values": seed.video_ids},
                            "seeded-keys": {"values": seed.keys}}
    data["parameters"] = {
        "path.video_id": {"dictionary": "seeded-video-ids", "probability": SEEDED_PROBABILITY},
        "path.s3_key": {"dictionary": "seeded-keys", "probability": SEEDED_PROBABILITY},
    }
    return schemathesis.Config.from_dict(data)


def _load(server: FuzzServer, seed: Seed) -> Any:
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json",
                                         config=schemathesis_config(seed))


@pytest.fixture(scope="module")
def anonymous_schema(fuzz_server: FuzzServer, seed: Seed) -> Any:
    return _load(fuzz_server, seed)


@pytest.fixture(scope="module")
def owned_seed(fuzz_server: FuzzServer, account: Account) -> Seed:
    """Videos of the signed-in pass's own: it fuzzes DELETE too, and may delete them, while
    the other passes keep theirs."""
    return seed_videos(fuzz_server.url, account)


@pytest.fixture(scope="module")
def signed_in_schema(fuzz_server: FuzzServer, owned_seed: Seed, account: Account) -> Any:
    schema = _load(fuzz_server, owned_seed)
    schema.auth()(cookie_auth(account))
    return schema


@pytest.fixture(scope="module")
def service_schema(fuzz_server: FuzzServer, seed: Seed) -> Any:
    schema = _load(fuzz_server, seed)
    schema.auth.set_from_requests(BotocoreSigV4(SERVICE_KEY, region=REGION))
    return schema

