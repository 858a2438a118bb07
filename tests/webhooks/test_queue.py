"""The delivery queue shared by workers: leases, stale workers, concurrent claims."""

from __future__ import annotations

import asyncio
import datetime as dt

from plugins.webhooks import queries
from tests.video.support import run_in_app
from tests.webhooks.conftest import deliver, deliveries, event, run_due

LEASE = dt.timedelta(seconds=60)


def test_a_claim_expires_and_a_stale_worker_records_nothing(make_webhooks_client, receiver):
    client = make_webhooks_client()
    deliver(client, [event(1)])
    now = dt.datetime.now(dt.UTC)

    [first] = run_in_app(client, lambda: queries.claim_due(now, now + LEASE, ["main"], 10))
    assert run_in_app(client, lambda: queries.claim_due(now, now + LEASE, ["main"], 10)) == []
    later = now + LEASE
    [second] = run_in_app(client, lambda: queries.claim_due(later, later + LEASE, ["main"], 10))
    assert (second.id, second.claims, second.attempts) == (first.id, 2, 2)

    # The first worker, whose lease ran out, finishes late: its result is dropped.
    run_in_app(client, lambda: queries.record_success(first, later, 200, 5))
    row = deliveries(client)[0]
    assert row["delivered_at"] is None and row["next_attempt_at"] == later + LEASE
    run_in_app(client, lambda: queries.record_success(second, later, 200, 5))
    assert deliveries(client)[0]["delivered_at"] == later


def test_successes_recorded_together_keep_each_claims_fence(make_webhooks_client, receiver):
    client = make_webhooks_client()
    deliver(client, [event(1), event(2), event(3)])
    now = dt.datetime.now(dt.UTC)
    stale = run_in_app(client, lambda: queries.claim_due(now, now + LEASE, ["main"], 10))
    later = now + LEASE
    current = run_in_app(client, lambda: queries.claim_due(later, later + LEASE, ["main"], 10))

    run_in_app(client, lambda: queries.record_successes([
        queries.Success(stale[0], 200, 5), queries.Success(current[1], 202, 7),
        queries.Success(current[2], 204, 9)], later))

    rows = deliveries(client)
    assert rows[0]["delivered_at"] is None and rows[0]["next_attempt_at"] == later + LEASE
    assert [(row["delivered_at"], row["next_attempt_at"], row["last_status_code"],
             row["last_latency_ms"]) for row in rows[1:]] == [
        (later, None, 202, 7), (later, None, 204, 9)]


def test_concurrent_claims_take_different_deliveries(make_webhooks_client, receiver):
    client = make_webhooks_client()
    deliver(client, [event(n) for n in range(1, 41)])
    now = dt.datetime.now(dt.UTC)

    async def claim_together():
        return await asyncio.gather(*(queries.claim_due(now, now + LEASE, ["main"], 7)
                                      for _ in range(6)))

    batches = run_in_app(client, claim_together)
    ids = [item.event_id for batch in batches for item in batch]
    assert sorted(ids) == list(range(1, 41)) and len(ids) == len(set(ids))


def test_unconfigured_and_disabled_endpoints_are_not_claimed(make_webhooks_client, receiver):
    client = make_webhooks_client()
    deliver(client, [event(1)])
    now = dt.datetime.now(dt.UTC)

    assert run_in_app(client, lambda: queries.claim_due(now, now + LEASE, ["other"], 10)) == []
    run_in_app(client, lambda: queries.disable("main", now, "test"))
    assert run_due(client).delivered == 0
    assert receiver.requests == []
