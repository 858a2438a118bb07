"""Running uvicorn: the listening socket bound before anything else starts, then one
serving process or a supervisor of several, with settings from `[server]`."""

from __future__ import annotations

import logging
import os
import socket
import sys

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from core.config import Config
from core.server.request_heads import BoundedHttpToolsProtocol
from core.server.stopping import (
    EXIT_STARTUP_FAILED,
    EXIT_STOPPED,
    StoppableLifespan,
    StopSignals,
    exit_on_stop_signals,
)

log = logging.getLogger("itube.server")


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
            # Our middleware writes the access line; uvicorn's own would, even disabled,
            # build its arguments (client address, quoted path) on every response.
            access_log=False,
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
