"""A response's head and body leave in one write when the body is ready at once; a
streamed response's head does not wait for its body; everything written is sent before
the connection closes. The protocol runs as served, over a transport that records what
the socket would have been asked to send."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from core.server.coalescing import MAX_HELD_BYTES
from core.server.request_heads import BoundedHttpToolsProtocol

GET = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
GET_THEN_CLOSE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
TURNS = 50  # loop turns to wait for a condition before giving up


class RecordingTransport(asyncio.Transport):
    """Stands in for the socket: records each write and the close, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[bytes | str] = []
        self.closed = False

    @property
    def writes(self) -> list[bytes]:
        return [event for event in self.events if isinstance(event, bytes)]

    def write(self, data: Any) -> None:
        self.events.append(bytes(data))

    def close(self) -> None:
        self.closed = True
        self.events.append("close")

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000),
                "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def ready_body(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"5")]})
    await send({"type": "http.response.body", "body": b"hello"})


async def _until(condition: Any) -> None:
    for _ in range(TURNS):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def _connected(app: Any) -> tuple[BoundedHttpToolsProtocol, RecordingTransport]:
    config = uvicorn.Config(app, ws="none", lifespan="off", log_config=None)
    protocol = BoundedHttpToolsProtocol(config, ServerState(), {},
                                        _loop=asyncio.get_running_loop())
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def _answer_ready_at_once() -> list[bytes]:
    protocol, transport = _connected(ready_body)
    protocol.data_received(GET)
    await _until(lambda: protocol.cycle is not None and protocol.cycle.response_complete)
    protocol.connection_lost(None)
    return transport.writes


def test_a_body_ready_at_once_leaves_with_its_head_in_one_write():
    writes = asyncio.run(_answer_ready_at_once())
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\nhello")


async def _streamed() -> tuple[list[bytes], list[bytes]]:
    body_due = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})
        await body_due.wait()
        await send({"type": "http.response.body", "body": b"data: 1\n\n"})

    protocol, transport = _connected(app)
    protocol.data_received(GET)
    await _until(lambda: transport.writes)
    before_body = list(transport.writes)
    body_due.set()
    await _until(lambda: protocol.cycle.response_complete)
    protocol.connection_lost(None)
    return before_body, transport.writes


def test_a_streamed_head_is_sent_without_waiting_for_the_body():
    before_body, writes = asyncio.run(_streamed())
    assert len(before_body) == 1 and before_body[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"data: 1" not in before_body[0]
    assert b"data: 1" in b"".join(writes[1:])


async def _closing() -> list[bytes | str]:
    protocol, transport = _connected(ready_body)
    protocol.data_received(GET_THEN_CLOSE)
    await _until(lambda: transport.closed)
    return transport.events


def test_what_was_written_is_sent_before_the_connection_closes():
    events = asyncio.run(_closing())
    assert events[-1] == "close"
    assert len(events) == 2 and isinstance(events[0], bytes) and events[0].endswith(b"hello")


async def _continued() -> tuple[list[bytes], list[bytes]]:
    async def echo(scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    protocol, transport = _connected(echo)
    protocol.data_received(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n"
                           b"Expect: 100-continue\r\n\r\n")
    await _until(lambda: transport.writes)  # the client sends its body only after this
    before_body = list(transport.writes)
    protocol.data_received(b"ping")
    await _until(lambda: protocol.cycle.response_complete)
    protocol.connection_lost(None)
    return before_body, transport.writes


def test_a_100_continue_is_sent_while_the_app_waits_for_the_body():
    before_body, writes = asyncio.run(_continued())
    assert before_body == [b"HTTP/1.1 100 Continue\r\n\r\n"]
    assert writes[-1].endswith(b"\r\n\r\nping")


async def _streamed_without_pause() -> tuple[int, int]:
    """(bytes the transport had when the app's last send returned, bytes sent in all)."""
    chunk, chunks = b"x" * 16384, 64
    reached: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(chunk) * chunks).encode())]})
        for _ in range(chunks - 1):  # no await that pauses: all in one turn of the loop
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        reached.append(sum(len(write) for write in transport.writes))
        await send({"type": "http.response.body", "body": chunk})

    protocol, transport = _connected(app)
    protocol.data_received(GET)
    await _until(lambda: protocol.cycle.response_complete)
    protocol.connection_lost(None)
    return reached[0], len(chunk) * chunks


def test_a_long_body_sent_in_one_turn_reaches_the_transport_as_it_goes():
    reached, total = asyncio.run(_streamed_without_pause())
    assert reached >= total - 16384 - MAX_HELD_BYTES
