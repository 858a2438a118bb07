"""The outbox and its dispatcher, in an app on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import pytest
from starlette.testclient import TestClient

from core.app import create_app
from core.db import write_transaction
from core.errors import ConfigError
from core.events import events_since, record, runtime, wake
from core.events.broker import MemoryBroker
from core.events.dispatcher import STOP_GRACE_SECONDS
from core.events.offsets import deliver_next, ensure_offset, offset_of
from core.events.tables import EventOutbox
from core.plugins import hookimpl
from tests.core.events_support import (
    FAST,
    BlockingSink,
    HeldSink,
    RecordingSink,
    SinksPlugin,
    record_committed,
)
from tests.video.support import run_in_app, wait_until


@pytest.fixture
def start(make_config, make_client):
    def start(*sinks, **events):
        config = make_config([], events={**FAST, **events})
        return make_client(config, plugins=[SinksPlugin(*sinks)])

    return start


def test_record_needs_a_transaction(start):
    client = start()
    with pytest.raises(RuntimeError, match="inside a write transaction"):
        run_in_app(client, lambda: record("video.updated", "v1", "alice", {}))


def test_record_refuses_an_unknown_type(start):
    client = start()

    async def unknown():
        async with write_transaction(EventOutbox):
            await record("video.exploded", "v1", "alice", {})

    with pytest.raises(ValueError, match="video.exploded"):
        run_in_app(client, unknown)


def test_events_commit_and_roll_back_with_the_change(start):
    client = start()

    async def rolled_back():
        async with write_transaction(EventOutbox):
            await record("video.updated", "gone", "alice", {})
            raise LookupError("the change failed")

    with pytest.raises(LookupError):
        run_in_app(client, rolled_back)
    run_in_app(client, lambda: record_committed("kept"))
    events = run_in_app(client, lambda: events_since(after_id=0))
    assert [event.subject for event in events] == ["kept"]
    event = events[0]
    assert event.type == "video.updated" and event.owner_id == "alice"
    assert event.data == {"n": "kept"}
    assert event.occurred_at.tzinfo is not None
    assert abs(event.occurred_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_events_since_filters(start):
    client = start()
    run_in_app(client, lambda: record_committed("a", "alice", "video.created"))
    run_in_app(client, lambda: record_committed("b", "bob", "video.updated"))
    run_in_app(client, lambda: record_committed("c", "alice", "video.status_changed"))
    every = run_in_app(client, lambda: events_since())
    assert [event.subject for event in every] == ["a", "b", "c"]
    assert [e.id for e in every] == sorted(e.id for e in every)
    first = every[0].id

    def subjects(**filters):
        return [e.subject for e in run_in_app(client, lambda: events_since(**filters))]

    assert subjects(after_id=first) == ["b", "c"]
    assert subjects(owner_id="alice") == ["a", "c"]
    assert subjects(types={"video.updated", "video.created"}) == ["a", "b"]
    assert subjects(types=()) == []
    assert subjects(limit=1) == ["a"]
    assert subjects(since=every[1].occurred_at) == ["b", "c"]
    assert subjects(since=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)) == []


@pytest.mark.hooks("event_sinks")
def test_the_dispatcher_delivers_in_id_order(start):
    sink = RecordingSink()
    client = start(sink, batch_size=3)
    for n in range(7):
        run_in_app(client, lambda n=n: record_committed(f"v{n}"))
    wake(client.app.state.ctx)
    assert wait_until(lambda: len(sink.ids) == 7), sink.ids
    assert [event.subject for event in sink.events] == [f"v{n}" for n in range(7)]
    assert sink.ids == sorted(sink.ids)
    assert all(len(batch) <= 3 for batch in sink.batches)
    assert wait_until(lambda: run_in_app(client, lambda: offset_of("test")) == sink.ids[-1])


def test_a_raising_sink_is_offered_the_same_batch_again(start, caplog):
    failing = RecordingSink("failing", failures=3)
    healthy = RecordingSink("healthy")
    client = start(failing, healthy)
    with caplog.at_level(logging.INFO, logger="itube.events"):
        run_in_app(client, lambda: record_committed("v1"))
        assert wait_until(lambda: len(healthy.ids) == 1)
        assert wait_until(lambda: len(failing.ids) == 1), failing.offered
        # The sink holds the batch a moment before the worker logs the streak's end.
        assert wait_until(lambda: any(r.getMessage() == "event delivery recovered"
                                      for r in caplog.records))
    assert len(failing.offered) == 4
    assert all(offered == failing.offered[0] for offered in failing.offered)
    assert failing.ids == healthy.ids
    failures = [r for r in caplog.records if r.getMessage() == "event delivery failed"]
    assert len(failures) == 1, "logged once per streak"


def test_a_failing_sink_keeps_its_offset(start):
    failing = RecordingSink("failing", failures=10**6)
    client = start(failing)
    before = run_in_app(client, lambda: offset_of("failing"))
    run_in_app(client, lambda: record_committed("v1"))
    assert wait_until(lambda: len(failing.offered) >= 2)
    assert run_in_app(client, lambda: offset_of("failing")) == before


def test_a_new_sink_starts_at_the_end_of_the_outbox(start, make_config, make_client):
    client = start()
    run_in_app(client, lambda: record_committed("before"))
    client.__exit__(None, None, None)
    late = RecordingSink("late")
    client = start(late)
    run_in_app(client, lambda: record_committed("after"))
    assert wait_until(lambda: late.ids)
    assert [event.subject for event in late.events] == ["after"]


@pytest.mark.hooks("event_broker")
def test_the_broker_sink_publishes_every_event(start):
    client = start()
    ctx = client.app.state.ctx
    received = []

    async def listen():
        async with runtime(ctx).broker.subscribe() as events:
            await record_committed("v1")
            await record_committed("v2")
            wake(ctx)
            async for event in events:
                received.append(event.subject)
                if len(received) == 2:
                    return

    run_in_app(client, lambda: asyncio.wait_for(listen(), 10))
    assert received == ["v1", "v2"]


class CountingBroker(MemoryBroker):
    def __init__(self) -> None:
        super().__init__()
        self.published: list[str] = []
        self.closed = False

    async def publish(self, event):
        self.published.append(event.subject)
        await super().publish(event)

    async def close(self):
        self.closed = True
        await super().close()


class BrokerPlugin:
    def __init__(self, broker) -> None:
        self.broker = broker

    @hookimpl
    def event_broker(self, ctx):
        return self.broker


@pytest.mark.hooks("event_broker")
def test_a_plugins_broker_replaces_the_kernels_and_is_closed(make_config, make_client):
    broker = CountingBroker()
    client = make_client(make_config([], events=FAST), plugins=[BrokerPlugin(broker)])
    assert runtime(client.app.state.ctx).broker is broker
    run_in_app(client, lambda: record_committed("v1"))
    assert wait_until(lambda: broker.published == ["v1"])
    client.__exit__(None, None, None)
    assert broker.closed


@pytest.mark.parametrize("sinks, message", [
    ([object()], "does not satisfy core.events.EventSink"),
    ([RecordingSink("twin"), RecordingSink("twin")], "two event sinks are named 'twin'"),
    ([RecordingSink("broker")], "two event sinks are named 'broker'"),
])
def test_sinks_are_checked_at_start_up(make_config, sinks, message):
    app = create_app(make_config([], events=FAST), plugins=[SinksPlugin(*sinks)])
    with pytest.raises(ConfigError, match=message), TestClient(app):
        pass


def test_on_sqlite_two_deliveries_at_once_may_repeat_a_batch_but_never_skip(start, db_url):
    """SQLite holds no lock while a sink delivers: the offset moves by compare-and-set, so
    the slower of two deliveries of one batch leaves it where the faster put it."""
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL skips the locked offset instead (test_events_postgres.py)")
    client = start()
    first, second = BlockingSink("shared"), RecordingSink("shared")

    async def scenario():
        await ensure_offset("shared")
        await record_committed("v1")
        holding = asyncio.create_task(deliver_next(first, 10))
        await first.entered.wait()
        assert await deliver_next(second, 10) == 1
        advanced = await offset_of("shared")
        first.release.set()
        await holding
        await record_committed("v2")
        assert await deliver_next(second, 10) == 1
        return advanced

    advanced = run_in_app(client, scenario)
    assert first.batches == [second.ids[:1]]
    assert advanced == second.ids[0]
    assert [event.subject for event in second.events] == ["v1", "v2"]


def test_stopping_lets_the_batch_in_hand_finish(make_config):
    sink = HeldSink()
    app = create_app(make_config([], events=FAST), plugins=[SinksPlugin(sink)])
    with TestClient(app) as client:
        worker = next(worker for worker in runtime(app.state.ctx).dispatcher.workers
                      if worker.sink is sink)
        sink.until = worker.stopping  # the batch is held until the app is stopping
        run_in_app(client, record_committed)
        assert wait_until(lambda: sink.began)
    assert sink.finished == sink.began  # delivered, not cancelled half-way
    with TestClient(app) as client:
        assert run_in_app(client, lambda: offset_of(sink.name)) == sink.began[0][-1]
    assert sink.began == sink.finished and len(sink.began) == 1  # not offered again


def test_a_delivery_still_running_after_the_grace_is_cancelled(make_config):
    stuck = BlockingSink()  # never released
    config = make_config([], events=FAST)
    with TestClient(create_app(config, plugins=[SinksPlugin(stuck)])) as client:
        run_in_app(client, record_committed)
        assert wait_until(lambda: stuck.batches)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < STOP_GRACE_SECONDS + 5
    again = RecordingSink(stuck.name)
    with TestClient(create_app(config, plugins=[SinksPlugin(again)])) as client:
        assert wait_until(lambda: again.ids)
    assert again.ids == stuck.batches[0]  # offered again after the restart
