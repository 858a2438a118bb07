"""What `itube serve` runs: uvicorn with bounded request heads, its listening socket bound
before anything else starts, a start-up that SIGINT and SIGTERM interrupt, and a stop
that ends in bounded time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from types import FrameType
from typing import Any

import httptools
import orjson
import uvicorn
from uvicorn.lifespan.on import LifespanOn, LifespanSendMessage
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess

from core.config import Config, ServerSection
from core.errors import ConfigError
from core.problems import PROBLEM_JSON, problem_body

log = logging.getLogger("itube.server")

EXIT_STOPPED = 0  # stopped by SIGINT or SIGTERM, during start-up too
EXIT_FORCED = 1  # the stop outlived its bound and was forced
EXIT_STARTUP_FAILED = 3  # a port was busy, or the app's start-up failed (uvicorn's code)
# After the requests in flight are done (or cancelled): shutdown hooks, closing pools.
CLEANUP_SECONDS = 5.0
# How long a refused request head's connection is drained before it is closed, so the
# client, still sending, reads the 431 instead of a reset connection.
LINGER_SECONDS = 5.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
DEFAULTS = ServerSection()


def serve(config: Config, *, host: str, port: int, workers: int) -> int:
    """Run the API until SIGINT or SIGTERM; returns the process's exit status. The app is
    `core.asgi:app`, which reads the config file named by `ITUBE_CONFIG`."""
    try:
        listener = listen(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        print(f"itube: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
        return EXIT_STARTUP_FAILED
    settings = ServerConfig(config, workers=workers)
    shown_host = f"[{host}]" if ":" in host else host
    log.info("listening", extra={"address": f"http://{shown_host}:{listener.getsockname()[1]}",
                                 "workers": workers})
    with listener:
        if workers > 1:
            return _run_workers(settings, listener)
        return _run_one(settings, listener)


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the app starts: a busy port is known at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=2048)
    listener.set_inheritable(True)  # worker processes receive it
    return listener


@contextlib.contextmanager
def exit_on_stop_signals() -> Iterator[None]:
    """SIGINT and SIGTERM end the process with the status of a requested stop, wherever
    uvicorn's own handling is not in place: before it takes over (checking the config), and
    when it hands back the signal that stopped it. (Python leaves SIGTERM to the system,
    which ignores it for a container's first process.)"""
    previous = {sig: signal.signal(sig, _exit_stopped) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_stopped(sig: int, frame: FrameType | None) -> None:
    raise SystemExit(EXIT_STOPPED)


def _run_one(settings: ServerConfig, listener: socket.socket) -> int:
    server = uvicorn.Server(settings)
    try:
        with exit_on_stop_signals():
            server.run(sockets=[listener])
    except SystemExit as exc:
        if not server.should_exit:  # no signal: uvicorn gave up starting
            return int(exc.code or EXIT_STARTUP_FAILED)
    return EXIT_STOPPED


class _Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes, remembering whether a signal stopped it."""

    stopped_by_signal = False

    def handle_int(self) -> None:
        self.stopped_by_signal = True
        super().handle_int()

    def handle_term(self) -> None:
        self.stopped_by_signal = True
        super().handle_term()


def _run_workers(settings: ServerConfig, listener: socket.socket) -> int:
    supervisor = _Supervisor(settings, sockets=[listener])
    supervisor.run()
    if supervisor.stopped_by_signal:
        return EXIT_STOPPED
    failed = any(p.exitcode == EXIT_STARTUP_FAILED for p in supervisor.processes)
    return EXIT_STARTUP_FAILED if failed else EXIT_STOPPED


class ServerConfig(uvicorn.Config):
    """uvicorn's settings from `[server]`, plus what our protocol and lifespan read. It
    reaches worker processes pickled, so everything here travels with it."""

    def __init__(self, config: Config, *, workers: int) -> None:
        server = config.server
        super().__init__(
            "core.asgi:app",
            workers=workers,
            loop="uvloop",
            http=BoundedHttpToolsProtocol,
            ws="none",  # no route takes a WebSocket
            lifespan="on",
            proxy_headers=False,  # core.clients reads forwarded addresses from trusted proxies
            log_config=None,  # core.log's JSON lines
            timeout_graceful_shutdown=server.graceful_shutdown_seconds,  # type: ignore[arg-type]
        )
        self.max_header_bytes = server.max_header_bytes
        self.max_headers = server.max_headers
        self.graceful_shutdown_seconds = server.graceful_shutdown_seconds
        self.stop_signals: StopSignals | None = None

    def load(self) -> None:
        # Called by uvicorn's server, in the serving process, once its own signal handlers
        # are in place and before the app is imported.
        self.stop_signals = StopSignals(self.graceful_shutdown_seconds)
        self.stop_signals.install()
        super().load()
        self.lifespan_class = StoppableLifespan


# -- request heads -------------------------------------------------------------------------


class HeadTooLarge(Exception):
    """Raised inside the parser to stop it: the request has too many header fields."""


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with bounded request heads (431 beyond).

    httptools has no limit of its own, and it gathers a header's pieces by copying them
    again for every read: a 64 MiB header held the event loop, and every other request,
    for seconds. While a head is incomplete it is fed to the parser at most the bytes left
    under `max_header_bytes`, so an oversized head is refused before it is gathered. (A
    pipelined head that begins in the read that ends the previous request is counted from
    the next read on: the bound holds within one read.)
    """

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.max_header_bytes: int = getattr(config, "max_header_bytes",
                                             DEFAULTS.max_header_bytes)
        self.max_headers: int = getattr(config, "max_headers", DEFAULTS.max_headers)
        self._in_head = True  # from a message's first byte until its headers are complete
        self._head_bytes = 0
        self._header_count = 0
        self._refused = False

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

    def on_message_begin(self) -> None:
        self._header_count = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self.max_headers:
            raise HeadTooLarge(f"The request has more than {self.max_headers} header fields")
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
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


# -- start-up and stop ---------------------------------------------------------------------


class StopSignals:
    """SIGINT and SIGTERM in a serving process, on top of uvicorn's own handling.

    uvicorn only notes a signal and looks at the note once start-up is over, so a start-up
    that hung (a busy emulator port did) ignored both for ever. Installed before the app is
    imported, this lets a signal during start-up abandon it at once, and from any signal
    on, the process ends within a bound even when something it waits for never returns (a
    thread cannot be cancelled).
    """

    def __init__(self, graceful_seconds: float) -> None:
        self.graceful_seconds = graceful_seconds
        self.starting = True
        self.asked: signal.Signals | None = None
        self.event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._deadline: threading.Timer | None = None

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in STOP_SIGNALS:
            signal.signal(sig, functools.partial(self._on_signal, signal.getsignal(sig)))

    def _on_signal(self, uvicorns: Any, sig: int, frame: FrameType | None) -> None:
        if callable(uvicorns):
            uvicorns(sig, frame)  # begins uvicorn's graceful shutdown once serving
        first = self.asked is None
        self.asked = signal.Signals(sig)
        if self.starting:
            if first:
                log.info("start-up interrupted", extra={"signal": self.asked.name})
            self.arm_deadline(CLEANUP_SECONDS)
            self._loop.call_soon_threadsafe(self.event.set)
        else:
            self.arm_deadline(self.graceful_seconds + CLEANUP_SECONDS)

    def arm_deadline(self, seconds: float) -> None:
        """End the process in `seconds` unless it has ended by then (the first call wins)."""
        if self._deadline is not None:
            return
        self._deadline = threading.Timer(seconds, _force_exit, args=(seconds,))
        self._deadline.daemon = True
        self._deadline.start()


def _force_exit(seconds: float) -> None:
    log.error("the process did not stop within %.0f s; exiting now", seconds)
    for handler in logging.getLogger("itube").handlers:
        handler.flush()
    os._exit(EXIT_FORCED)


class StoppableLifespan(LifespanOn):
    """uvicorn's lifespan runner: a start-up that `StopSignals` can abandon, a shutdown
    with a deadline, and a failed start-up told in one line when the config is the cause."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        assert isinstance(config, ServerConfig) and config.stop_signals is not None
        self.stop_signals = config.stop_signals
        self._abandoned = False
        self._app_task: asyncio.Task[Any] | None = None

    async def startup(self) -> None:
        stop = self.stop_signals
        if stop.asked is None:
            starting = asyncio.ensure_future(super().startup())
            stopping = asyncio.ensure_future(stop.event.wait())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if starting.done():
                stop.starting = False
                return starting.result()
            starting.cancel()
        self._abandon_startup()

    async def shutdown(self) -> None:
        self.stop_signals.arm_deadline(CLEANUP_SECONDS)
        await super().shutdown()

    async def main(self) -> None:
        self._app_task = asyncio.current_task()
        await super().main()

    async def send(self, message: LifespanSendMessage) -> None:
        if message["type"] == "lifespan.startup.failed":
            self._report_startup_failure(message.get("message", ""))
            message = {"type": "lifespan.startup.failed", "message": ""}
        await super().send(message)

    def _report_startup_failure(self, traceback_text: str) -> None:
        if self._abandoned:
            return  # our own cancellation, not a failure
        # Starlette sends this from inside its `except` block: the exception is at hand.
        failure = sys.exc_info()[1]
        if isinstance(failure, ConfigError):
            log.error("start-up failed: %s", failure)
        elif failure is not None:
            log.error("start-up failed", exc_info=failure)
        else:
            log.error("start-up failed: %s", traceback_text)

    def _abandon_startup(self) -> None:
        self._abandoned = True
        self.should_exit = True  # uvicorn's server then exits instead of serving
        if self._app_task is not None:
            self._app_task.cancel()  # the app's start-up unwinds what it opened so far
