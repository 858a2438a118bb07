"""Fixtures of the video tests: an app with the video plugin and the stand-in auth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from starlette.testclient import TestClient

from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hooks(*names): the hooks this test exercises (see test_hook_coverage)"
    )


@pytest.fixture
def make_video_client(make_config, make_client) -> Callable[..., TestClient]:
    """`make_video_client(settings={...}, plugins=[...])`: the video plugin on the
    parametrised database, with the stand-in user and service auth."""

    def make(settings: dict[str, Any] | None = None, plugins: list[object] | None = None,
             **sections: Any) -> TestClient:
        config = make_config(["video"], plugins={"video": settings or {}}, **sections)
        return make_client(
            config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin(),
                             *(plugins or [])],
        )

    return make


@pytest.fixture
def client(make_video_client) -> TestClient:
    return make_video_client()


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    """A client of the emulator for what the test itself checks or prepares."""
    return boto3.client(
        "s3", endpoint_url=moto_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=BotoConfig(signature_version="s3v4"),
    )
