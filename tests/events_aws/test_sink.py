"""The EventBridge sink against the emulator over HTTP: what reaches a queue a rule routes
the bus to, the type filter, and the faults that make `deliver` raise so the dispatcher
offers the batch again."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import anyio
import pytest

from core.events import Event
from plugins.events_aws.config import EventsAwsSettings
from plugins.events_aws.sink import BUS_RESOURCE, EventBridgeSink, PublishFailed

OCCURRED = dt.datetime(2026, 12, 2, 9, 30, tzinfo=dt.UTC)


def event(event_id: int, event_type: str = "video.status_changed", **data: Any) -> Event:
    return Event(id=event_id, type=event_type, subject=f"video-{event_id}", owner_id="alice",
                 occurred_at=OCCURRED, data={"id": f"video-{event_id}", **data})


def sink_on(aws: Any, **settings: Any) -> EventBridgeSink:
    return EventBridgeSink(EventsAwsSettings(**settings), lambda: aws)


def deliver(sink: EventBridgeSink, events: list[Event]) -> None:
    anyio.run(sink.deliver, events)


def test_each_event_reaches_the_queue_a_rule_routes_the_bus_to(routed_bus, make_aws,
                                                               moto_endpoint):
    sink = sink_on(make_aws(moto_endpoint), event_bus=routed_bus.name)
    events = [event(n, progress=n) for n in range(1, 13)]  # two PutEvents calls

    deliver(sink, events)

    received = routed_bus.received(len(events))
    assert sorted(entry["detail"]["id"] for entry in received) == list(range(1, 13))
    first = next(entry for entry in received if entry["detail"]["id"] == 1)
    assert first["source"] == "itube"
    assert first["detail-type"] == "video.status_changed"
    assert first["detail"] == {
        "id": 1, "type": "video.status_changed", "subject": "video-1", "owner_id": "alice",
        "occurred_at": "2026-12-02T09:30:00+00:00", "data": {"id": "video-1", "progress": 1}}


def test_only_the_configured_types_are_put_on_the_bus(routed_bus, make_aws, moto_endpoint):
    sink = sink_on(make_aws(moto_endpoint), event_bus=routed_bus.name,
                   event_types=["video.deleted"], source="itube")

    deliver(sink, [event(1, "video.created"), event(2, "video.deleted"),
                   event(3, "video.updated")])

    (entry,) = routed_bus.received(1)
    assert (entry["detail-type"], entry["detail"]["id"]) == ("video.deleted", 2)
    assert routed_bus.nothing_more()


def test_a_batch_with_no_wanted_event_calls_nothing(make_aws):
    # No endpoint answers here: delivering would fail if the sink called AWS.
    sink = sink_on(make_aws("http://127.0.0.1:9"), event_types=["video.deleted"])
    deliver(sink, [event(1, "video.created")])


def test_a_bus_that_does_not_exist_makes_deliver_raise(make_aws, moto_endpoint):
    sink = sink_on(make_aws(moto_endpoint), event_bus="no-such-bus")

    with pytest.raises(PublishFailed, match="'no-such-bus' failed: ResourceNotFoundException"):
        deliver(sink, [event(1)])


def test_entries_eventbridge_refuses_make_deliver_raise_naming_them(routed_bus, make_aws,
                                                                    moto_endpoint):
    # An empty source passes botocore's checks and is refused entry by entry.
    sink = sink_on(make_aws(moto_endpoint), event_bus=routed_bus.name, source="")

    with pytest.raises(PublishFailed, match=r"refused 2 of 2 entries "
                       r"\(video.status_changed 7: InvalidArgument; video.created 8: "):
        deliver(sink, [event(7), event(8, "video.created")])


def test_an_aws_that_does_not_answer_raises_within_the_timeouts(make_aws):
    aws = make_aws("http://127.0.0.1:9", connect_timeout_seconds=0.5,
                   read_timeout_seconds=0.5, max_attempts=1)
    sink = sink_on(aws, event_bus="itube")

    started = time.monotonic()
    with pytest.raises(PublishFailed, match="failed: EndpointConnectionError"):
        deliver(sink, [event(1)])
    assert time.monotonic() - started < 5


def test_no_aws_clients_yet_is_a_failure_to_retry():
    sink = EventBridgeSink(EventsAwsSettings(), lambda: None)
    with pytest.raises(PublishFailed, match="not started"):
        deliver(sink, [event(1)])


def test_the_bus_is_the_configured_one_else_the_provisioned_one_else_default(make_aws):
    provisioned = make_aws("http://127.0.0.1:9", resources={BUS_RESOURCE: "itube-events"})
    assert sink_on(provisioned, event_bus="arn:aws:events:eu-west-1:1:event-bus/x").bus() == \
        "arn:aws:events:eu-west-1:1:event-bus/x"
    assert sink_on(provisioned).bus() == "itube-events"
    assert sink_on(make_aws("http://127.0.0.1:9")).bus() == "default"
