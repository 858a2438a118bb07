"""Fixtures for the service-auth tests: an app with inline service routes and the stand-in
user auth, configured for one strategy; moto's auth mode switched on only while needed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from core.config import Config, config_from_dict
from tests.internal_auth.routes import InlineRoutesPlugin
from tests.internal_auth.strategies import HmacToken, SigV4Static, SigV4Sts
from tests.support.stand_ins import StandInUserAuthPlugin


@contextlib.contextmanager
def moto_auth(endpoint: str) -> Iterator[None]:
    """moto checks signatures (and answers GetCallerIdentity truthfully) only with its
    auth mode on. It is global to the process and breaks presigned S3: always off after."""
    httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"0").raise_for_status()
    try:
        yield
    finally:
        httpx.post(f"{endpoint}/moto-api/reset-auth", content=b"inf").raise_for_status()


@pytest.fixture
def auth_config(tmp_path: Any, moto_endpoint: str) -> Callable[..., Config]:
    """A config with a SQLite file and no AWS provisioning (sts settings name the moto
    server themselves): these tests are about request verification, not storage or AWS
    set-up; the end-to-end tests through the video plugin run on both databases."""

    def make(names: list[str], plugins: dict[str, Any], local_aws: bool = False,
             **sections: Any) -> Config:
        provisioned = {"local_aws": {"endpoint_url": moto_endpoint}} if local_aws else {}
        data: dict[str, Any] = {
            "app": {"plugins": [*provisioned, *names]},
            "database": {"url": f"sqlite:///{tmp_path}/auth.db", "migrate_on_start": True},
            "logging": {"access_log": False},
            "server": {"freeze_heap_after_startup": False},
            "plugins": {**provisioned, **plugins},
            **sections,
        }
        return config_from_dict(data, source="<test>", environ={})

    return make


@pytest.fixture
def service_app(auth_config: Callable[..., Config], make_client: Callable[..., TestClient]
                ) -> Callable[..., TestClient]:
    """`service_app("internal_iam", {...settings})`: a client for an app with the inline
    routes and the stand-in user auth (X-Test-User)."""

    def make(plugin: str, settings: dict[str, Any], extra: list[object] | None = None,
             local_aws: bool = False, **client_kw: Any) -> TestClient:
        config = auth_config([plugin], {plugin: settings}, local_aws=local_aws)
        plugins = [InlineRoutesPlugin(), StandInUserAuthPlugin(), *(extra or [])]
        return make_client(config, plugins=plugins, **client_kw)

    return make


@pytest.fixture(params=["sigv4", "hmac", "sts"])
def strategy(request: pytest.FixtureRequest, moto_endpoint: str) -> Any:
    if request.param == "sigv4":
        return SigV4Static()
    if request.param == "hmac":
        return HmacToken()
    return SigV4Sts(moto_endpoint)


@pytest.fixture
def strategy_client(strategy: Any, service_app: Callable[..., TestClient],
                    moto_endpoint: str) -> Iterator[TestClient]:
    client = service_app(strategy.plugin, strategy.settings())
    if strategy.name == "sts":
        with moto_auth(moto_endpoint):
            yield client
    else:
        yield client
