"""Test sinks and helpers for the events tests."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from core.db import write_transaction
from core.events import Event, record
from core.events.tables import EventOutbox
from core.plugins import hookimpl

FAST = {"dispatch_interval_seconds": 0.05, "max_backoff_seconds": 0.2}


class RecordingSink:
    """Keeps every batch; raises for the first `failures` batches offered."""

    def __init__(self, name: str = "test", failures: int = 0) -> None:
        self.name = name
        self.failures = failures
        self.batches: list[list[Event]] = []
        self.offered: list[list[int]] = []

    async def deliver(self, events: Sequence[Event]) -> None:
        self.offered.append([event.id for event in events])
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the receiver is down")
        self.batches.append(list(events))

    @property
    def ids(self) -> list[int]:
        return [event.id for batch in self.batches for event in batch]

    @property
    def events(self) -> list[Event]:
        return [event for batch in self.batches for event in batch]


class BlockingSink:
    """Holds its first batch until released."""

    def __init__(self, name: str = "blocking") -> None:
        self.name = name
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.batches: list[list[int]] = []

    async def deliver(self, events: Sequence[Event]) -> None:
        self.batches.append([event.id for event in events])
        self.entered.set()
        await self.release.wait()


class HeldSink:
    """Holds each batch until `until` is set (the test gives it one); keeps the ids of the
    batches it began and finished."""

    def __init__(self, name: str = "held") -> None:
        self.name = name
        self.until: asyncio.Event | None = None
        self.began: list[list[int]] = []
        self.finished: list[list[int]] = []

    async def deliver(self, events: Sequence[Event]) -> None:
        assert self.until is not None
        ids = [event.id for event in events]
        self.began.append(ids)
        await self.until.wait()
        self.finished.append(ids)


class SinksPlugin:
    def __init__(self, *sinks: Any) -> None:
        self.sinks = list(sinks)

    @hookimpl
    def event_sinks(self, ctx: Any) -> list[Any]:
        return self.sinks


async def record_committed(subject: str = "v1", owner_id: str | None = "alice",
                           event_type: str = "video.updated",
                           data: dict[str, Any] | None = None) -> None:
    async with write_transaction(EventOutbox):
        await record(event_type, subject, owner_id, data or {"n": subject})
