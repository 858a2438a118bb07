"""What `itube serve` runs: uvicorn with bounded request heads, its listening socket bound
before anything else starts, a start-up that SIGINT and SIGTERM interrupt, and a stop
that ends in bounded time."""

from core.server.request_heads import BoundedHttpToolsProtocol, HeadTooLarge
from core.server.run import ServerConfig, listen, serve
from core.server.stopping import (
    EXIT_FORCED,
    EXIT_STARTUP_FAILED,
    EXIT_STOPPED,
    StoppableLifespan,
    StopSignals,
    exit_on_stop_signals,
)

__all__ = [
    "EXIT_FORCED",
    "EXIT_STARTUP_FAILED",
    "EXIT_STOPPED",
    "BoundedHttpToolsProtocol",
    "HeadTooLarge",
    "ServerConfig",
    "StopSignals",
    "StoppableLifespan",
    "exit_on_stop_signals",
    "listen",
    "serve",
]
