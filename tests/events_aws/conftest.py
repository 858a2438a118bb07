"""Fixtures of the EventBridge sink tests: a bus of each test's own whose rule sends
everything from `itube` to a queue, and the app's AWS clients on the emulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from core.aws import AwsClients, AwsEnvironment
from core.config import AwsSection
from tests.events_aws.support import REGION, RoutedBus, route_bus_to_queue


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hooks(*names): the hooks this test exercises (see test_hook_coverage)"
    )


@pytest.fixture
def routed_bus(moto_endpoint: str) -> RoutedBus:
    return route_bus_to_queue(moto_endpoint)


@pytest.fixture
def make_aws() -> Callable[..., AwsClients]:
    """`make_aws(endpoint, **aws_section)`: the app's AWS clients, as the emulation gives them."""

    def make(endpoint: str, resources: dict[str, str] | None = None,
             **section: Any) -> AwsClients:
        return AwsClients(AwsSection(**section), AwsEnvironment(
            endpoint_url=endpoint, region=REGION, access_key_id="testing",
            secret_access_key="testing", resources=resources or {}))

    return make
