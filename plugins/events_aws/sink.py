"""The EventBridge sink: each batch of outbox events is put on an event bus, up to ten
entries a `PutEvents` call, so a team on AWS routes them with its own rules.

An entry is `source` = the configured source, `detail-type` = the event's type, `detail` =
the event as JSON, its outbox `id` included: EventBridge delivers at least once and a batch
that failed is put again, so consumers drop an `id` they have already seen."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import anyio.to_thread
import orjson
from botocore.exceptions import BotoCoreError, ClientError

from core.aws import CREDENTIAL_FAULTS
from plugins.events_aws.config import DEFAULT_BUS, EventsAwsSettings

if TYPE_CHECKING:
    from core.aws import AwsClients
    from core.events import Event

# The most entries EventBridge takes in one PutEvents call.
MAX_ENTRIES_PER_CALL = 10
# The resource local AWS provisions the development bus under.
BUS_RESOURCE = "eventbridge_bus_name"
# What a PutEvents call can raise when AWS refuses it, does not answer or has no credentials.
PUT_FAULTS: tuple[type[Exception], ...] = (ClientError, BotoCoreError, *CREDENTIAL_FAULTS)


class PublishFailed(Exception):
    """EventBridge did not take every entry: the dispatcher offers the batch again later."""


class EventBridgeSink:
    """An `EventSink` named `events_aws` (its delivery offset keeps that name)."""

    name = "events_aws"

    def __init__(self, settings: EventsAwsSettings,
                 aws: Callable[[], AwsClients | None]) -> None:
        self._settings = settings
        self._aws = aws
        self._types = frozenset(settings.event_types)

    async def deliver(self, events: Sequence[Event]) -> None:
        entries = [self.entry(event) for event in events if self.wanted(event)]
        if not entries:
            return
        aws = self._aws()
        if aws is None:
            raise PublishFailed("events_aws: the AWS clients are not started")
        # Making the client the first time reads botocore's service model: off the loop.
        client = await anyio.to_thread.run_sync(aws.client, "events")
        for chunk in _chunks(entries, MAX_ENTRIES_PER_CALL):
            await anyio.to_thread.run_sync(_put, client, chunk)

    def wanted(self, event: Event) -> bool:
        return not self._types or event.type in self._types

    def bus(self) -> str:
        """The configured bus, else the one local AWS provisioned, else `default`."""
        if self._settings.event_bus:
            return self._settings.event_bus
        aws = self._aws()
        return aws.resource(BUS_RESOURCE, DEFAULT_BUS) if aws is not None else DEFAULT_BUS

    def entry(self, event: Event) -> dict[str, Any]:
        return {
            "EventBusName": self.bus(),
            "Source": self._settings.source,
            "DetailType": event.type,
            "Detail": detail(event),
            "Time": event.occurred_at,
        }


def detail(event: Event) -> str:
    """The entry's `detail`: the whole event, JSON."""
    return orjson.dumps(event.to_json_dict()).decode()


def _put(client: Any, entries: list[dict[str, Any]]) -> None:
    try:
        answer = client.put_events(Entries=entries)
    except PUT_FAULTS as exc:
        raise PublishFailed(f"events_aws: PutEvents on {entries[0]['EventBusName']!r} "
                            f"failed: {_reason(exc)}") from exc
    if answer.get("FailedEntryCount"):
        refused = [
            f"{entry['DetailType']} {orjson.loads(entry['Detail'])['id']}: "
            f"{result.get('ErrorCode')}"
            for entry, result in zip(entries, answer["Entries"], strict=True)
            if result.get("ErrorCode")
        ]
        raise PublishFailed(f"events_aws: EventBridge refused {answer['FailedEntryCount']} of "
                            f"{len(entries)} entries ({'; '.join(refused)})")


def _reason(exc: Exception) -> str:
    """The AWS error code, or the fault's class: never a message that might echo a request."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def _chunks(items: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
