"""Fixtures of the metrics tests: apps with `/metrics` on, and a scraper that parses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from starlette.testclient import TestClient

from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin

# The TestClient's peer: an address inside the default `[metrics] allowed_networks`.
LOCAL_PEER = ("127.0.0.1", 50000)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hooks(*names): the kernel hooks this test exercises (see test_hook_coverage)"
    )


@pytest.fixture
def make_metrics_client(make_config, make_client) -> Callable[..., TestClient]:
    """`make_metrics_client(["video"], metrics={...}, client=(host, port), extra=[...])`:
    an app with metrics on, the stand-in user and service auth and `extra` plugin objects;
    other keywords are config sections (`plugins={...}` for plugin settings)."""

    def make(plugin_names: list[str] | None = None, *, extra: list[object] | None = None,
             client: tuple[str, int] = LOCAL_PEER, metrics: dict[str, Any] | None = None,
             **sections: Any) -> TestClient:
        config = make_config(plugin_names or [], metrics={"enabled": True, **(metrics or {})},
                             **sections)
        return make_client(
            config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin(),
                             *(extra or [])],
            client=client,
        )

    return make


def scrape(client: TestClient, **request: Any) -> dict[str, list[Sample]]:
    """GET /metrics, parsed by prometheus-client's own parser: family name -> samples."""
    response = client.get("/metrics", **request)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        family.name: family.samples
        for family in text_string_to_metric_families(response.text)
    }


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    """The value of the sample `name` whose labels include `labels`, None when absent."""
    for sample in samples:
        if sample.name == name and labels.items() <= sample.labels.items():
            return sample.value
    return None
