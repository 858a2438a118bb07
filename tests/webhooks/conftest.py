"""Fixtures of the webhooks tests: an app with the webhooks plugin and a real receiver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.events import Event
from plugins.webhooks.runtime import Webhooks, webhooks
from plugins.webhooks.tables import WebhookDelivery
from tests.video.support import run_in_app
from tests.webhooks.receiver import Receiver, running_receiver


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hooks(*names): the hooks this test exercises (see test_hook_coverage)"
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def endpoint(url: str, secret: str, **fields: Any) -> dict[str, Any]:
    return {"url": url, "secret": secret, **fields}


@pytest.fixture
def make_webhooks_client(make_config, make_client, receiver) -> Callable[..., TestClient]:
    """`make_webhooks_client(endpoints=[...], **settings)`: the webhooks plugin on the
    parametrised database; by default one endpoint `main` at the receiver, private
    addresses allowed (the receiver is on 127.0.0.1) and no background worker (tests run
    the passes themselves, at the times they choose)."""

    def make(endpoints: dict[str, dict[str, Any]] | None = None, plugins: Sequence[str] = (),
             extra: list[object] | None = None, sections: dict[str, Any] | None = None,
             **settings: Any) -> TestClient:
        section = {
            "endpoints": endpoints if endpoints is not None
            else {"main": endpoint(receiver.url, receiver.secret)},
            "allow_private_addresses": True,
            "poll_seconds": 0,
            "connect_timeout_seconds": 2,
            "read_timeout_seconds": 2,
            **settings,
        }
        config = make_config([*plugins, "webhooks"], plugins={"webhooks": section},
                             **(sections or {}))
        return make_client(config, plugins=extra or [])

    return make


def running(client: TestClient) -> Webhooks:
    return webhooks(client.app.state.ctx)  # type: ignore[attr-defined]


def event(event_id: int, event_type: str = "video.status_changed", **data: Any) -> Event:
    return Event(id=event_id, type=event_type, subject=f"video-{event_id}", owner_id="alice",
                 occurred_at=dt.datetime(2026, 12, 2, 14, 0, event_id % 60, tzinfo=dt.UTC),
                 data={"id": f"video-{event_id}", **data})


def deliver(client: TestClient, events: Sequence[Event]) -> None:
    """Offer `events` to the sink as the dispatcher does."""
    run_in_app(client, lambda: running(client).sink.deliver(events))


def run_due(client: TestClient, now: dt.datetime | None = None) -> Any:
    return run_in_app(client, lambda: running(client).worker.run_due(now))


def deliveries(client: TestClient) -> list[dict[str, Any]]:
    return run_in_app(client, lambda: WebhookDelivery.select().order_by(WebhookDelivery.id))
