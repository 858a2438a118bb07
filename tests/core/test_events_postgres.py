"""What only PostgreSQL can do to the outbox: several dispatchers at once, and ids drawn
before commit (a transaction commits late with a lower id than one already visible)."""

from __future__ import annotations

import asyncio

import pytest

from core.db import write_transaction
from core.events import events_since, record
from core.events.offsets import deliver_next, ensure_offset, offset_of
from core.events.tables import EventOutbox
from tests.core.events_support import FAST, BlockingSink, RecordingSink, record_committed
from tests.video.support import run_in_app


@pytest.fixture
def db_url(postgres_url: str) -> str:
    return postgres_url


@pytest.fixture
def client(make_config, make_client):
    return make_client(make_config([], events=FAST))


async def _waiting_for_the_outbox_lock() -> bool:
    rows = await EventOutbox.raw(
        "SELECT count(*) AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return rows[0]["waiting"] > 0


async def _until(condition, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.02)


class LateTransaction:
    """An open transaction that recorded an event (drawing its id) and commits or rolls
    back when told."""

    def __init__(self) -> None:
        self.recorded = asyncio.Event()
        self.finish = asyncio.Event()
        self.commit = True
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with write_transaction(EventOutbox):
            await record("video.status_changed", "late", "alice", {})
            self.recorded.set()
            await self.finish.wait()
            if not self.commit:
                raise asyncio.CancelledError

    async def end(self, *, commit: bool) -> None:
        self.commit = commit
        self.finish.set()
        assert self.task is not None
        await asyncio.gather(self.task, return_exceptions=True)


def test_two_dispatchers_never_deliver_one_batch_at_once(client):
    """The second process skips the offset row the first holds (SKIP LOCKED)."""
    first, second = BlockingSink("shared"), RecordingSink("shared")

    async def scenario():
        await ensure_offset("shared")
        await record_committed("v1")
        holding = asyncio.create_task(deliver_next(first, 10))
        await first.entered.wait()
        skipped = await deliver_next(second, 10)
        first.release.set()
        delivered = await holding
        await record_committed("v2")
        then = await deliver_next(second, 10)
        return skipped, delivered, then

    skipped, delivered, then = run_in_app(client, scenario)
    assert (skipped, delivered, then) == (0, 1, 1)
    assert len(first.batches) == 1 and len(second.batches) == 1
    assert first.batches[0][0] < second.ids[0], "the second batch follows the first"


@pytest.mark.parametrize("commit", [True, False])
def test_a_late_commit_with_a_lower_id_is_never_skipped(client, commit):
    sink = RecordingSink("gap")

    async def scenario():
        await ensure_offset("gap")
        late = LateTransaction()
        late.start()
        await late.recorded.wait()
        await record_committed("early")  # a higher id, visible first
        delivering = asyncio.create_task(deliver_next(sink, 10))
        await _until(_waiting_for_the_outbox_lock)
        assert not delivering.done(), "the gap before the early event is waited for"
        await late.end(commit=commit)
        await delivering
        while await deliver_next(sink, 10):
            pass
        return await offset_of("gap")

    offset = run_in_app(client, scenario)
    subjects = [event.subject for event in sink.events]
    assert subjects == (["late", "early"] if commit else ["early"])
    assert sink.ids == sorted(sink.ids) and offset == sink.ids[-1]


def test_a_gap_held_too_long_delays_delivery_without_skipping(client):
    sink = RecordingSink("slow")

    async def scenario():
        await ensure_offset("slow")
        late = LateTransaction()
        late.start()
        await late.recorded.wait()
        await record_committed("early")
        with pytest.raises(Exception, match="lock"):
            await deliver_next(sink, 10)  # the settle wait is bounded, then retried
        assert await offset_of("slow") == 0
        await late.end(commit=True)
        while await deliver_next(sink, 10):
            pass

    run_in_app(client, scenario)
    assert [event.subject for event in sink.events] == ["late", "early"]


def test_events_since_never_reads_past_a_gap(client):
    async def scenario():
        late = LateTransaction()
        late.start()
        await late.recorded.wait()
        await record_committed("early")
        reading = asyncio.create_task(events_since(after_id=0))
        await _until(_waiting_for_the_outbox_lock)
        await late.end(commit=True)
        return await reading

    events = run_in_app(client, scenario)
    assert [event.subject for event in events] == ["late", "early"]
