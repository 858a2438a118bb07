"""The server's HTTP protocol: uvicorn's httptools protocol refusing, with a 431, a head
too large or with too many header fields before it is gathered, sending each response's
head and body in one write (`core.server.coalescing`), and closing a keep-alive connection
left waiting by a periodic sweep (`core.server.idle_connections`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import httptools
import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from core.config import ServerSection
from core.problems import PROBLEM_JSON, problem_body
from core.server.coalescing import CoalescingTransport
from core.server.idle_connections import idle_connections

log = logging.getLogger("itube.server")

# How long a refused request head's connection is drained before it is closed, so the
# client, still sending, reads the 431 instead of a reset connection.
LINGER_SECONDS = 5.0
DEFAULTS = ServerSection()


class HeadTooLarge(Exception):
    """Raised inside the parser to stop it: the request has too many header fields."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded request heads (431 beyond).

    httptools has no limit of its own, and it gathers a header's pieces by copying them
    again for every read: a 64 MiB header held the event loop, and every other request,
    for seconds. While a head is incomplete it is fed to the parser at most the bytes left
    under `max_header_bytes`, so an oversized head is refused before it is gathered. (A
    pipelined head that begins in the read that ends the previous request is counted from
    the next read on: the bound holds within one read.) Header fields are counted once the
    head is complete: the byte bound already limits what is gathered before, and a check
    per field would cost every request a Python call per header.
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.max_header_bytes: int = getattr(config, "max_header_bytes",
                                             DEFAULTS.max_header_bytes)
        self.max_headers: int = getattr(config, "max_headers", DEFAULTS.max_headers)
        self._in_head = True  # from a message's first byte until its headers are complete
        self._head_bytes = 0
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        # uvicorn writes a response's head and body apart: held until the response is
        # complete (or the loop's turn ends), they leave in one system call.
        super().connection_made(transport)
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
        self._idle = idle_connections(self.loop, self.timeout_keep_alive)

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        # uvicorn's, but for the keep-alive wait: noted for the sweep, not a timer armed.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle.waiting(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._idle.busy(self)
        super().connection_lost(exc)

    def _unset_keepalive_if_required(self) -> None:
        # Called by uvicorn when data arrives (and when the connection is lost cleanly).
        self._idle.busy(self)

    def close_idle(self) -> None:
        self.timeout_keep_alive_handler()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # draining what the client still sends after its 431
        self._unset_keepalive_if_required()
        while data and not self._refused and not self.transport.is_closing():
            if not self._in_head:
                self._feed(data)
                return
            room = self.max_header_bytes - self._head_bytes
            if room <= 0:
                self._refuse_head(f"The request head exceeds {self.max_header_bytes} bytes")
                return
            if len(data) <= room:  # the common case: the whole read fits, no copy
                self._head_bytes += len(data)
                self._feed(data)
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            self._feed(piece)

    def _feed(self, data: bytes) -> None:
        # What uvicorn's data_received does, plus telling our refusal from a parse error.
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, HeadTooLarge):
                self._refuse_head(str(exc.__context__))
            else:
                self._bad_request()
        except httptools.HttpParserError:
            self._bad_request()
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def _bad_request(self) -> None:
        message = "Invalid HTTP request received."
        self.logger.warning(message)
        self.send_400_response(message)

    def on_headers_complete(self) -> None:
        # Counted once the head is in: its bytes are already bounded, so the fields
        # gathered before this check are too.
        if len(self.headers) > self.max_headers:
            raise HeadTooLarge(f"The request has more than {self.max_headers} header fields")
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        super().on_message_complete()

    def _refuse_head(self, detail: str) -> None:
        self._refused = True
        request_id = uuid.uuid4().hex
        log.info("request head refused", extra={"reason": detail, "request_id": request_id})
        if self.cycle is not None and not self.cycle.response_complete:
            # An earlier request on this connection is still being answered: a 431 now
            # would land inside its response.
            self.transport.close()
            return
        self.transport.write(self._refusal(detail, request_id))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def _refusal(self, detail: str, request_id: str) -> bytes:
        body = orjson.dumps(problem_body(
            431, detail, title="Request Header Fields Too Large", request_id=request_id
        ))
        headers = [
            *self.server_state.default_headers,
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"x-request-id", request_id.encode()),
            (b"connection", b"close"),
        ]
        head = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        return STATUS_LINE[431] + head + b"\r\n" + body
