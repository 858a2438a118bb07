"""`GET /api/v1/upload/videos/events`: the owner's live event stream (Server-Sent Events),
in process, on both databases, with the kernel's in-process broker."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from core.db import write_transaction
from core.events import record, wake
from core.events.tables import EventOutbox
from plugins.video.live.service import slot_seconds
from tests.video import workflow
from tests.video.sse import EVENTS_PATH, Message, StreamReader
from tests.video.support import TRANSCODER, run_in_app, user, wait_until

ALICE, BOB = user("alice"), user("bob")
HEARTBEAT = 0.2
LIVE = {"live_heartbeat_seconds": HEARTBEAT}


@pytest.fixture
def live_client(make_video_client) -> TestClient:
    return make_video_client(LIVE)


@contextlib.contextmanager
def stream(client: TestClient, who: Any, headers: dict[str, str] | None = None,
           **params: Any) -> Iterator[StreamReader]:
    """An open stream, once it is subscribed (the `: open` comment has arrived)."""
    with client.stream("GET", EVENTS_PATH, params=params,
                       **who.request_options(headers)) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        reader = StreamReader(response.iter_lines())
        reader.wait_open()
        yield reader


def record_event(client: TestClient, owner: str, subject: str = "s",
                 event_type: str = "video.updated", **data: Any) -> None:
    """Write an event to the outbox as a change would, and wake the dispatcher."""
    ctx = client.app.state.ctx  # type: ignore[attr-defined]

    async def write() -> None:
        async with write_transaction(EventOutbox):
            await record(event_type, subject, owner, data)
        wake(ctx)

    run_in_app(client, write)


def subject_is(subject: str) -> Callable[[Message], bool]:
    return lambda message: message.json()["subject"] == subject


def test_the_owner_sees_their_own_status_changes_and_no_one_elses(live_client):
    with stream(live_client, ALICE) as alice_stream:
        bobs = workflow.register(live_client, BOB, workflow.upload(live_client, BOB)).json()
        alices = workflow.register(live_client, ALICE,
                                   workflow.upload(live_client, ALICE)).json()
        assert workflow.set_status(live_client, TRANSCODER, bobs["id"],
                                   "COMPLETED").status_code == 200
        assert workflow.set_status(live_client, TRANSCODER, alices["id"],
                                   "COMPLETED").status_code == 200
        events = alice_stream.events_until(
            lambda m: m.event == "video.status_changed" and m.json()["subject"] == alices["id"])
    assert {message.json()["subject"] for message in events} == {alices["id"]}
    created, changed = events[0], events[-1]
    assert created.event == "video.created"
    body = changed.json()
    assert set(body) == {"type", "subject", "occurred_at", "data"}
    assert body["type"] == "video.status_changed"
    assert body["data"]["from"] == "IN_PROGRESS" and body["data"]["to"] == "COMPLETED"
    assert int(created.id) < int(changed.id)


def test_last_event_id_replays_what_was_missed_then_goes_on_live(live_client):
    with stream(live_client, ALICE) as first:
        record_event(live_client, "alice", "one")
        seen = first.events_until(subject_is("one"))
    last_id = seen[-1].id
    for subject in ("two", "three"):  # while no stream is open
        record_event(live_client, "alice", subject)
    record_event(live_client, "bob", "not-yours")
    with stream(live_client, ALICE, {"Last-Event-ID": last_id}) as resumed:
        record_event(live_client, "alice", "four")
        events = resumed.events_until(subject_is("four"))
    assert [message.json()["subject"] for message in events] == ["two", "three", "four"]
    ids = [int(message.id) for message in events]
    assert ids == sorted(ids) and int(last_id) < ids[0]


def test_the_query_parameter_resumes_too_and_the_header_wins(live_client):
    for subject in ("one", "two", "three"):
        record_event(live_client, "alice", subject)
    with stream(live_client, ALICE) as probe:
        record_event(live_client, "alice", "four")
        four = probe.events_until(subject_is("four"))[-1]
    first_id = int(four.id) - 3  # the ids of one writer follow each other
    with stream(live_client, ALICE, last_event_id=first_id) as by_query:
        assert [m.json()["subject"] for m in by_query.events_until(subject_is("four"))] == [
            "two", "three", "four"]
    with stream(live_client, ALICE, {"Last-Event-ID": str(first_id + 2)},
                last_event_id=first_id) as both:
        assert [m.json()["subject"] for m in both.events_until(subject_is("four"))] == ["four"]


def test_a_replayed_event_is_not_sent_again_when_it_arrives_live(make_video_client):
    # A slow dispatcher: the events are in the outbox (replayed) before the broker has them.
    client = make_video_client(LIVE, events={"dispatch_interval_seconds": 3600})
    with stream(client, ALICE) as probe:
        record_event(client, "alice", "marker")
        marker = probe.events_until(subject_is("marker"))[-1]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]

    async def write_without_waking() -> None:
        async with write_transaction(EventOutbox):
            await record("video.updated", "quiet", "alice", {})

    run_in_app(client, write_without_waking)
    with stream(client, ALICE, {"Last-Event-ID": marker.id}) as resumed:
        wake(ctx)  # now the dispatcher publishes "quiet" to the live stream too
        record_event(client, "alice", "after")
        events = resumed.events_until(subject_is("after"))
    assert [m.json()["subject"] for m in events] == ["quiet", "after"]


def test_heartbeats_arrive_while_nothing_happens(live_client):
    with stream(live_client, ALICE) as idle:
        heartbeat = idle.wait_for(lambda m: "heartbeat" in m.comments, timeout=5)
    assert not heartbeat.is_event


def opens(client: TestClient, who: Any) -> bool:
    """Whether a stream opens (200) for `who`; it is closed at once."""
    with client.stream("GET", EVENTS_PATH, **who.request_options()) as response:
        return response.status_code == 200


def test_the_streams_per_user_are_capped_and_a_closed_one_frees_its_slot(make_video_client):
    client = make_video_client({**LIVE, "live_max_streams_per_user": 2})
    with stream(client, ALICE):
        with stream(client, ALICE):
            refused = client.get(EVENTS_PATH, **ALICE.request_options())
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert int(refused.headers["retry-after"]) >= 1
            assert "2 open event streams" in refused.json()["detail"]
            assert opens(client, BOB)  # the cap is per user
        # the second stream was closed: its slot is free again
        assert wait_until(lambda: opens(client, ALICE), timeout=3)  # a slot lasts 5.6 s
        with stream(client, ALICE):
            assert client.get(EVENTS_PATH, **ALICE.request_options()).status_code == 429
    with stream(client, ALICE), stream(client, ALICE):  # both slots free once all closed
        pass


def test_an_open_stream_renews_its_slot_and_frees_it_at_the_end(live_client):
    ctx = live_client.app.state.ctx  # type: ignore[attr-defined]
    full = slot_seconds(ctx.settings("video"))

    def slot_ttl() -> float | None:
        return run_in_app(live_client, lambda: ctx.cache.ttl("live-streams:alice:0"))

    with stream(live_client, ALICE) as open_stream:
        for _ in range(8):  # longer than a few heartbeats: renewed meanwhile
            record_event(live_client, "alice", "busy")
            open_stream.wait_for(lambda m: "heartbeat" in m.comments)
        remaining = slot_ttl()
        assert remaining is not None and remaining > full - 3 * HEARTBEAT
    assert wait_until(lambda: slot_ttl() is None, timeout=5)


def test_a_head_request_holds_no_slot(make_video_client):
    client = make_video_client({**LIVE, "live_max_streams_per_user": 1})
    head = client.head(EVENTS_PATH, **ALICE.request_options())
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("text/event-stream")
    with stream(client, ALICE):
        pass


@pytest.mark.parametrize(("headers", "params", "field"), [
    ({"Last-Event-ID": "abc"}, {}, "Last-Event-ID"),
    ({"Last-Event-ID": "-1"}, {}, "Last-Event-ID"),
    ({}, {"last_event_id": "1.5"}, "last_event_id"),
    ({}, {"last_event_id": "99999999999999999999"}, "last_event_id"),
])
def test_a_bad_last_event_id_is_a_422_naming_it(live_client, headers, params, field):
    response = live_client.get(EVENTS_PATH, params=params, **ALICE.request_options(headers))
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]


def test_the_stream_needs_a_signed_in_user(live_client):
    response = live_client.get(EVENTS_PATH)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_the_document_describes_the_stream(live_client):
    operation = live_client.get("/openapi.json").json()["paths"][EVENTS_PATH]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"text/event-stream"}
    assert {"401", "422", "429"} <= set(operation["responses"])
    names = {param["name"] for param in operation["parameters"]}
    assert names == {"Last-Event-ID", "last_event_id"}


def test_events_is_not_taken_for_a_video_id(live_client):
    # `/events` has a route of its own; `/{video_id}` only takes UUIDs
    assert live_client.get(EVENTS_PATH).status_code == 401  # not a 404 from the get-by-id
