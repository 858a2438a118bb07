"""Deliveries reach a real receiver signed (verified with the Standard Webhooks library),
once per event and endpoint, retried after failures, never through a redirect."""

from __future__ import annotations

import datetime as dt
import json
import logging

from tests.webhooks.conftest import deliver, deliveries, endpoint, event, run_due, running
from tests.webhooks.receiver import SECRET, Receiver, running_receiver

OTHER_SECRET = "whsec_" + "b" * 40


def test_deliveries_arrive_signed_and_verified(make_webhooks_client, receiver):
    client = make_webhooks_client()
    deliver(client, [event(1, progress=10), event(2, "video.created")])

    report = run_due(client)

    assert report.delivered == 2 and report.failed == 0
    assert [request.error for request in receiver.requests] == [None, None]
    assert receiver.ids == ["1", "2"]
    first = receiver.requests[0]
    assert first.verified == {"type": "video.status_changed",
                              "timestamp": "2026-12-02T14:00:01Z",
                              "data": {"id": "video-1", "progress": 10}}
    assert first.headers["content-type"] == "application/json"
    assert first.headers["webhook-signature"].startswith("v1,")
    assert json.loads(first.body) == first.verified
    rows = deliveries(client)
    assert [(row["event_id"], row["attempts"], row["last_status_code"]) for row in rows] == [
        (1, 1, 200), (2, 1, 200)]
    assert all(row["delivered_at"] is not None and row["next_attempt_at"] is None
               and row["last_latency_ms"] is not None for row in rows)


def test_deliveries_to_an_endpoint_share_a_connection(make_webhooks_client, receiver):
    client = make_webhooks_client()
    deliver(client, [event(number) for number in range(1, 6)])

    assert run_due(client).delivered == 5
    assert receiver.connections == 1
    assert receiver.ids == ["1", "2", "3", "4", "5"]


def test_more_events_than_a_claim_arrive_in_order_and_recorded(make_webhooks_client, receiver):
    client = make_webhooks_client(batch_size=4)
    deliver(client, [event(number) for number in range(1, 11)])

    assert run_due(client).delivered == 10

    assert receiver.ids == [str(number) for number in range(1, 11)]
    rows = deliveries(client)
    assert [row["event_id"] for row in rows] == list(range(1, 11))
    assert all(row["delivered_at"] is not None and row["next_attempt_at"] is None
               and row["last_status_code"] == 200 and row["attempts"] == 1 for row in rows)


def test_a_delivery_logs_no_line_of_its_own(make_webhooks_client, receiver, caplog):
    """The delivery log is the table: an HTTP client's line per request would be noise
    (and CPU) at every event."""
    client = make_webhooks_client()
    deliver(client, [event(1), event(2)])
    caplog.set_level(logging.DEBUG, logger="httpx")
    caplog.set_level(logging.INFO)

    assert run_due(client).delivered == 2

    assert [record.getMessage() for record in caplog.records
            if record.levelno >= logging.INFO
            and record.name.startswith(("httpx", "httpcore", "itube.webhooks"))] == []


def test_a_repeated_batch_queues_nothing_new(make_webhooks_client, receiver):
    client = make_webhooks_client()
    batch = [event(1), event(2)]
    deliver(client, batch)
    deliver(client, batch)
    assert len(deliveries(client)) == 2

    run_due(client)
    deliver(client, batch)  # offered again after delivery, as after a crash

    assert run_due(client).delivered == 0
    assert receiver.ids == ["1", "2"]
    assert len(deliveries(client)) == 2


def test_each_endpoint_gets_the_types_it_asked_for(make_webhooks_client, receiver):
    with running_receiver(Receiver(secret=OTHER_SECRET)) as other:
        client = make_webhooks_client(endpoints={
            "all": endpoint(receiver.url, SECRET),
            "deletions": endpoint(other.url, OTHER_SECRET, event_types=["video.deleted"]),
            "off": endpoint(other.url, OTHER_SECRET, enabled=False),
        })
        deliver(client, [event(1), event(2, "video.deleted")])
        run_due(client)

        assert receiver.ids == ["1", "2"]
        assert other.ids == ["2"]
        assert other.requests[0].verified["type"] == "video.deleted"
        assert {row["endpoint"] for row in deliveries(client)} == {"all", "deletions"}


def test_a_failed_delivery_is_retried_with_the_same_id(make_webhooks_client, receiver):
    receiver.answers.append((500, {}))
    client = make_webhooks_client()
    running(client).worker.jitter = lambda: 1.0  # the schedule's full step
    deliver(client, [event(7)])
    now = dt.datetime.now(dt.UTC)

    assert run_due(client, now).failed == 1
    row = deliveries(client)[0]
    assert row["last_status_code"] == 500 and row["attempts"] == 1
    assert row["last_error"].startswith("answered 500")
    assert row["next_attempt_at"] == now + dt.timedelta(seconds=5)

    assert run_due(client, now + dt.timedelta(seconds=4)).failed == 0  # not due yet
    assert run_due(client, now + dt.timedelta(seconds=5)).delivered == 1

    assert receiver.ids == ["7", "7"]
    assert [request.error for request in receiver.requests] == [None, None]
    row = deliveries(client)[0]
    assert (row["attempts"], row["last_status_code"], row["last_error"]) == (2, 200, None)


def test_a_delivery_is_abandoned_when_the_schedule_runs_out(make_webhooks_client, receiver):
    receiver.default = 503
    client = make_webhooks_client(retry_schedule_seconds=[1, 2])
    running(client).worker.jitter = lambda: 1.0
    deliver(client, [event(3)])
    now = dt.datetime.now(dt.UTC)
    for seconds in (0, 1, 3):
        run_due(client, now + dt.timedelta(seconds=seconds))

    row = deliveries(client)[0]
    assert row["attempts"] == 3 and row["next_attempt_at"] is None
    assert row["abandoned_at"] is not None and row["delivered_at"] is None
    assert run_due(client, now + dt.timedelta(days=2)).failed == 0


def test_a_redirect_is_a_failure_and_is_not_followed(make_webhooks_client, receiver):
    receiver.answers.append((302, {"location": "/elsewhere"}))
    client = make_webhooks_client()
    deliver(client, [event(1)])

    assert run_due(client).failed == 1

    assert [request.path for request in receiver.requests] == ["/hook"]
    row = deliveries(client)[0]
    assert row["last_status_code"] == 302
    assert "redirect to /elsewhere; not followed" in row["last_error"]


def test_without_endpoints_nothing_is_queued(make_webhooks_client, receiver):
    client = make_webhooks_client(endpoints={}, poll_seconds=0.05)
    deliver(client, [event(1)])

    assert deliveries(client) == [] and run_due(client).delivered == 0
