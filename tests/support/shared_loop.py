"""TestClients whose apps run side by side on one event loop, as under uvicorn.

Piccolo binds one engine per table class for the whole process (docs/decisions.md), so an
app started later serves the tables of every app still alive, and a PostgreSQL pool may
only be used on the loop that opened it. Starlette's TestClient starts a loop thread per
client; this one runs its app on a portal the test's other clients share."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import anyio
from anyio.from_thread import BlockingPortal
from anyio.streams.stapled import StapledObjectStream
from starlette.testclient import TestClient
from starlette.types import Message


class SharedLoopTestClient(TestClient):
    def __init__(self, app: Any, *, portal: BlockingPortal, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._shared_portal = portal

    def __enter__(self) -> SharedLoopTestClient:
        # Starlette's own start-up, on the shared portal instead of a new one.
        with contextlib.ExitStack() as stack:
            self.portal = portal = self._shared_portal
            stack.callback(setattr, self, "portal", None)
            send = anyio.create_memory_object_stream[Message | None](math.inf)
            receive = anyio.create_memory_object_stream[Message](math.inf)
            for channel in (*send, *receive):
                stack.callback(channel.close)
            self.stream_send = StapledObjectStream(*send)
            self.stream_receive = StapledObjectStream(*receive)
            self.task = portal.start_task_soon(self.lifespan)
            portal.call(self.wait_startup)
            stack.callback(portal.call, self.wait_shutdown)
            stack.callback(self._transport.close)
            self.exit_stack = stack.pop_all()
        return self
