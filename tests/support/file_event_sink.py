"""An event sink for a real server process started by a test (named by dotted path in its
config): each delivered event's id and type as a JSON line appended to the file
`ITUBE_TEST_EVENT_LOG` names. With `ITUBE_TEST_EVENT_SINK_BLOCK=1` it writes
`{"blocked": [ids]}` on its first batch instead and never returns: the process can be killed
with events committed but not delivered."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

import orjson

from core.events import Event
from core.plugins import hookimpl


class FileSink:
    name = "file"

    def __init__(self, path: str, block: bool) -> None:
        self.path = path
        self.block = block

    async def deliver(self, events: Sequence[Event]) -> None:
        if self.block:
            self._append({"blocked": [event.id for event in events]})
            await asyncio.Event().wait()
        for event in events:
            self._append({"id": event.id, "type": event.type, "subject": event.subject})

    def _append(self, line: dict[str, Any]) -> None:
        with open(self.path, "ab") as log:
            log.write(orjson.dumps(line) + b"\n")
            log.flush()
            os.fsync(log.fileno())


@hookimpl
def event_sinks(ctx: Any) -> list[FileSink]:
    return [FileSink(os.environ["ITUBE_TEST_EVENT_LOG"],
                     os.environ.get("ITUBE_TEST_EVENT_SINK_BLOCK") == "1")]
