"""Reading a Server-Sent Events stream in a test, message by message, with deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import orjson

EVENTS_PATH = "/api/v1/upload/videos/events"


@attrs.define
class Message:
    """One SSE message: its fields, or only comments (a heartbeat, the opening line)."""

    id: str | None = None
    event: str | None = None
    data: str | None = None
    comments: list[str] = attrs.Factory(list)

    @property
    def is_event(self) -> bool:
        return self.event is not None

    def json(self) -> Any:
        assert self.data is not None
        return orjson.loads(self.data)


class StreamReader:
    """Messages off the lines of a streaming response (`response.iter_lines()`)."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines

    def next_message(self) -> Message:
        message = Message()
        for line in self._lines:
            if line == "":
                if message.comments or message.event or message.data is not None:
                    return message
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                message.comments.append(value)
            elif name == "data":
                message.data = value if message.data is None else f"{message.data}\n{value}"
            elif name in ("id", "event"):
                setattr(message, name, value)
        raise AssertionError("the stream ended")

    def wait_for(self, wanted: Callable[[Message], bool], timeout: float = 10.0,
                 seen: list[Message] | None = None) -> Message:
        """The first message `wanted` accepts; every message read on the way is appended
        to `seen`. The stream's heartbeats let the deadline be checked while it is idle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.next_message()
            if seen is not None:
                seen.append(message)
            if wanted(message):
                return message
        raise AssertionError(f"no such message within {timeout}s; read {seen}")

    def events_until(self, wanted: Callable[[Message], bool], timeout: float = 10.0
                     ) -> list[Message]:
        """Every event message up to and including the first `wanted` accepts."""
        seen: list[Message] = []
        self.wait_for(lambda m: m.is_event and wanted(m), timeout, seen)
        return [message for message in seen if message.is_event]

    def wait_open(self, timeout: float = 10.0) -> None:
        self.wait_for(lambda m: "open" in m.comments, timeout)
