"""The delivery worker: claims due deliveries, sends them, records what happened.

It runs as a lifespan task (every `poll_seconds`, and soon after the sink queues
something). Several workers, in one process or on many machines, share the queue safely:
each claim holds its deliveries for a lease (see queries). A failed attempt is due again
after the retry schedule's jittered wait; an endpoint whose attempts have all failed for
`disable_after_seconds`, or that answered 410 Gone, is disabled with one WARNING line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

import anyio
import attrs

from plugins.webhooks import queries
from plugins.webhooks.config import WebhooksSettings
from plugins.webhooks.queries import ClaimedDelivery, Success
from plugins.webhooks.schedule import Jitter, next_attempt
from plugins.webhooks.sender import Outcome, WebhookSender

log = logging.getLogger("itube.webhooks")
# A wake-up waits this long first: the dispatcher commits the deliveries it queued right
# after the sink returns, and wake-ups arriving together are served by one pass.
WAKE_DELAY_SECONDS = 0.05
# The shortest wait before a retry, so one pass never claims a delivery twice.
MIN_RETRY_SECONDS = 1.0
# A claim's lease beyond the longest one attempt can take.
LEASE_MARGIN_SECONDS = 30.0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.define
class RunReport:
    """What one pass did."""

    delivered: int = 0
    failed: int = 0
    disabled: list[str] = attrs.Factory(list)


class DeliveryWorker:
    def __init__(self, settings: WebhooksSettings, sender: WebhookSender,
                 jitter: Jitter = random.random) -> None:
        self.settings = settings
        self.sender = sender
        self.jitter = jitter
        self.active = [endpoint.name for endpoint in settings.named_endpoints()
                       if endpoint.enabled]
        self.lease = dt.timedelta(seconds=settings.connect_timeout_seconds
                                  + settings.read_timeout_seconds + LEASE_MARGIN_SECONDS)
        self.wake = asyncio.Event()
        self.stopping = False

    async def run_due(self, now: dt.datetime | None = None) -> RunReport:
        """Send every delivery due at `now` (default: the current time), a batch at a time,
        then return. `now` also dates the attempts, their retries and failure streaks (tests
        pass a later one instead of waiting); signatures carry the real time."""
        now = now or _now()
        report = RunReport()
        while claimed := await queries.claim_due(now, now + self.lease, self.active,
                                                 self.settings.batch_size):
            by_endpoint: dict[str, list[ClaimedDelivery]] = {}
            for item in claimed:
                by_endpoint.setdefault(item.endpoint, []).append(item)
            await asyncio.gather(*(self._send_in_order(items, now, report)
                                   for items in by_endpoint.values()))
        return report

    async def _send_in_order(self, items: list[ClaimedDelivery], now: dt.datetime,
                             report: RunReport) -> None:
        """One endpoint's deliveries, one after the other in event id order (endpoints
        in parallel), so a receiver sees events in order unless a retry intervenes.
        Successes are recorded together, before any failure that follows them, so the
        endpoint's failure streak sees the attempts in the order they were made."""
        taken: list[Success] = []
        for item in items:
            outcome = await self.sender.send(item.endpoint, str(item.event_id), item.payload)
            if outcome.delivered:
                assert outcome.status is not None
                taken.append(Success(item, outcome.status, outcome.latency_ms))
                continue
            await self._record_taken(taken, now, report)
            taken = []
            await self._record_failure(item, outcome, now, report)
        await self._record_taken(taken, now, report)

    @staticmethod
    async def _record_taken(taken: list[Success], now: dt.datetime, report: RunReport) -> None:
        if not taken:
            return
        report.delivered += len(taken)
        await queries.record_successes(taken, now)
        await queries.note_success(taken[0].delivery.endpoint)

    async def _record_failure(self, item: ClaimedDelivery, outcome: Outcome,
                              now: dt.datetime, report: RunReport) -> None:
        report.failed += 1
        retry_at = next_attempt(now, item.attempts, self.settings.retry_schedule_seconds,
                                retry_after=outcome.retry_after, jitter=self.jitter)
        if retry_at is not None:
            retry_at = max(retry_at, now + dt.timedelta(seconds=MIN_RETRY_SECONDS))
        await queries.record_failure(item, now, status=outcome.status,
                                     latency_ms=outcome.latency_ms,
                                     error=outcome.error or "failed", retry_at=retry_at)
        if retry_at is None:
            log.info("webhook delivery abandoned: the retry schedule ran out", extra={
                "endpoint": item.endpoint, "event_id": item.event_id,
                "attempts": item.attempts, "error": outcome.error})
        await self._note_failure(item.endpoint, outcome, now, report)

    async def _note_failure(self, endpoint: str, outcome: Outcome, now: dt.datetime,
                            report: RunReport) -> None:
        since = await queries.note_failure(endpoint, now)
        failing = (now - since).total_seconds()
        if outcome.gone:
            reason = "it answered 410 Gone"
        elif failing >= self.settings.disable_after_seconds:
            reason = f"every delivery failed for {failing / 3600:.1f} h"
        else:
            return
        if await queries.disable(endpoint, now, f"{reason}; last error: {outcome.error}"):
            report.disabled.append(endpoint)
            log.warning(
                "webhook endpoint %s disabled: %s (last error: %s); change its config or "
                "run `itube webhooks enable %s` to turn it back on",
                endpoint, reason, outcome.error, endpoint,
                extra={"endpoint": endpoint, "failing_since": since.isoformat()})

    async def run_forever(self) -> None:
        """Run passes every `poll_seconds`, or soon after a wake-up, until `stop()`."""
        while not self.stopping:
            try:
                await self.run_due()
            except Exception:  # the database did not answer: try again next time
                log.exception("webhook delivery pass failed")
            with anyio.move_on_after(self.settings.poll_seconds):
                await self.wake.wait()
            if self.wake.is_set() and not self.stopping:
                self.wake.clear()
                await anyio.sleep(WAKE_DELAY_SECONDS)

    def stop(self) -> None:
        """Let `run_forever` finish the pass in hand, then return."""
        self.stopping = True
        self.wake.set()
