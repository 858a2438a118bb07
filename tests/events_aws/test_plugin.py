"""The plugin in a real app: its settings checked at start-up, its sink contributed through
`event_sinks`, and a video's changes reaching a queue that a rule routes the bus to, on
SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from core.app import create_app
from core.errors import ConfigError
from core.events import EventSink, runtime
from plugins.events_aws.sink import EventBridgeSink
from tests.events_aws.support import route_bus_to_queue
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import TRANSCODER, user, wait_until

ALICE = user("alice")


@pytest.fixture(params=["sqlite"])
def db_url(request: pytest.FixtureRequest) -> str:
    """SQLite where the database plays no part (settings, wiring); the delivery test asks
    for both backends."""
    return request.getfixturevalue(f"{request.param}_url")


def test_an_unknown_type_and_a_reserved_source_stop_start_up(make_config):
    config = make_config(["video", "events_aws"], plugins={"events_aws": {
        "event_types": ["video.created", "video.exploded"], "source": "aws.itube"}})

    with pytest.raises(ConfigError) as raised:
        create_app(config)

    assert "plugins.events_aws.event_types: unknown 'video.exploded'" in str(raised.value)
    assert "plugins.events_aws.source: 'aws.itube' starts with 'aws.'" in str(raised.value)


def test_a_wrongly_typed_setting_names_the_key(make_config):
    config = make_config(["events_aws"], plugins={"events_aws": {"event_types": "video.created"}})
    with pytest.raises(ConfigError, match="plugins.events_aws.event_types"):
        create_app(config)


@pytest.mark.hooks("event_sinks")
def test_the_plugin_contributes_its_sink(make_config, make_client):
    client = make_client(make_config(["video", "events_aws"]))
    ctx = client.app.state.ctx  # type: ignore[attr-defined]

    sinks = [sink for sinks in ctx.pm.hook.event_sinks(ctx=ctx) for sink in sinks or ()]

    (sink,) = [sink for sink in sinks if isinstance(sink, EventBridgeSink)]
    assert isinstance(sink, EventSink) and sink.name == "events_aws"
    assert sink.bus() == "itube-events"  # provisioned by the emulation


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_a_videos_changes_reach_the_queue_through_the_provisioned_bus(
        make_config, make_client, routed_bus):
    # The emulation provisions the bus the test prepared (creating it again is harmless),
    # and the plugin, with no bus configured, puts on the provisioned one.
    config = make_config(["video", "events_aws"], plugins={
        "local_aws": {"endpoint_url": _endpoint(routed_bus), "event_bus_name": routed_bus.name},
        "video": {}, "events_aws": {}})
    client = make_client(config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])

    key = workflow.upload(client, ALICE)
    created = workflow.register(client, ALICE, key, title="Routed by EventBridge")
    assert created.status_code == 201, created.text
    video_id = created.json()["id"]
    completed = workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")
    assert completed.status_code == 200, completed.text

    received = routed_bus.received(2)
    by_type = {entry["detail-type"]: entry["detail"] for entry in received}
    assert set(by_type) == {"video.created", "video.status_changed"}, received
    created_event, changed = by_type["video.created"], by_type["video.status_changed"]
    assert created_event["subject"] == changed["subject"] == video_id
    assert created_event["owner_id"] == "alice"
    assert created_event["data"]["title"] == "Routed by EventBridge"
    assert (changed["data"]["from"], changed["data"]["to"]) == ("IN_PROGRESS", "COMPLETED")
    assert created_event["id"] < changed["id"]


@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
def test_events_put_while_the_bus_is_missing_arrive_once_it_exists(make_config, make_client,
                                                                    moto_endpoint):
    bus = f"itube-late-{uuid.uuid4().hex[:10]}"
    config = make_config(["video", "events_aws"], plugins={"video": {},
                                                           "events_aws": {"event_bus": bus}},
                         events={"dispatch_interval_seconds": 0.05, "max_backoff_seconds": 0.2})
    client = make_client(config, plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    worker = next(worker for worker in runtime(ctx).dispatcher.workers
                if worker.sink.name == "events_aws")

    created = workflow.register(client, ALICE, workflow.upload(client, ALICE), title="Late")
    assert created.status_code == 201, created.text
    assert wait_until(lambda: worker.failures >= 2)  # offered again after each failure

    routed = route_bus_to_queue(moto_endpoint, bus)
    (entry,) = routed.received(1)
    assert (entry["detail-type"], entry["detail"]["subject"]) == (
        "video.created", created.json()["id"])
    assert wait_until(lambda: worker.failures == 0)


def _endpoint(routed_bus: Any) -> str:
    return routed_bus.sqs.meta.endpoint_url
