"""A keep-alive connection that waits too long for its next request is closed, without a
timer armed per response; a request slower to answer than that wait is not cut off
(`core.server.idle_connections`). The protocol runs as served, over a transport that
records what the socket would have been asked to do."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from core.server.request_heads import BoundedHttpToolsProtocol
from tests.server.test_coalesced_writes import GET, RecordingTransport, ready_body

WAIT_SECONDS = 0.5
# The wait, plus a sweep's interval (a fifth of the wait), plus room for a slow machine.
CLOSED_WITHIN = WAIT_SECONDS * 1.2 + 2.0


def _connected(server: ServerState) -> tuple[BoundedHttpToolsProtocol, RecordingTransport]:
    config = uvicorn.Config(ready_body, ws="none", lifespan="off", log_config=None,
                            timeout_keep_alive=WAIT_SECONDS)  # type: ignore[arg-type]
    protocol = BoundedHttpToolsProtocol(config, server, {}, _loop=asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _answered(protocol: BoundedHttpToolsProtocol) -> None:
    protocol.data_received(GET)
    while protocol.cycle is None or not protocol.cycle.response_complete:
        await asyncio.sleep(0)


async def _until_closed(transport: RecordingTransport, seconds: float) -> float | None:
    """Seconds until the transport closed, or None if it stayed open that long."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if transport.closed:
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    return None


async def _left_waiting() -> tuple[float | None, object]:
    protocol, transport = _connected(ServerState())
    await _answered(protocol)
    armed = protocol.timeout_keep_alive_task
    return await _until_closed(transport, CLOSED_WITHIN), armed


def test_a_connection_left_waiting_past_its_keep_alive_is_closed_without_a_timer_of_its_own():
    closed_after, armed = asyncio.run(_left_waiting())
    assert closed_after is not None and closed_after >= WAIT_SECONDS * 0.9
    assert armed is None


async def _slow_second_answer() -> tuple[bool, list[bytes]]:
    """(closed while its second request was being answered, what was written)."""
    protocol, transport = _connected(ServerState())
    await _answered(protocol)
    protocol.app = _slow_app
    await _answered(protocol)
    return transport.closed, transport.writes


async def _slow_app(scope: Any, receive: Any, send: Any) -> None:
    await asyncio.sleep(WAIT_SECONDS * 3)
    await ready_body(scope, receive, send)


def test_a_request_answered_slower_than_the_keep_alive_is_not_cut_off():
    closed, writes = asyncio.run(_slow_second_answer())
    assert not closed
    assert len(writes) == 2 and writes[1].endswith(b"hello")
