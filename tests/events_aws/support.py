"""What the EventBridge tests share: a bus routed to an SQS queue of the emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import boto3

from tests.video.support import wait_until

REGION = "us-east-1"


def emulator_client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@attrs.frozen
class RoutedBus:
    """A bus whose rule routes every entry from `itube` to an SQS queue."""

    name: str
    queue_url: str
    sqs: Any

    def received(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """The first `count` entries routed to the queue (fewer when they never come)."""
        return self.received_until(lambda bodies: len(bodies) >= count, timeout)

    def received_until(self, done: Callable[[list[dict[str, Any]]], bool],
                       timeout: float = 10.0) -> list[dict[str, Any]]:
        """The entries routed to the queue, read until `done(entries)` or the timeout."""
        bodies: list[dict[str, Any]] = []

        def enough() -> bool:
            if done(bodies):
                return True
            answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            bodies.extend(json.loads(message["Body"]) for message in answer.get("Messages", ()))
            return done(bodies)

        wait_until(enough, timeout)
        return bodies

    def nothing_more(self) -> bool:
        answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return not answer.get("Messages")


def route_bus_to_queue(endpoint: str, name: str | None = None, *,
                       create: bool = True) -> RoutedBus:
    """A bus `name` (new, unless `create` is false) and a queue of the same name, with a
    rule sending everything from `itube` to the queue."""
    events = emulator_client("events", endpoint)
    sqs = emulator_client("sqs", endpoint)
    name = name or f"itube-test-{uuid.uuid4().hex[:10]}"
    if create:
        events.create_event_bus(Name=name)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    events.put_rule(Name="everything-from-itube", EventBusName=name,
                    EventPattern=json.dumps({"source": ["itube"]}))
    events.put_targets(Rule="everything-from-itube", EventBusName=name,
                       Targets=[{"Id": "queue", "Arn": queue_arn}])
    return RoutedBus(name, queue_url, sqs)
