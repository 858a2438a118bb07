"""uvicorn's settings as `itube serve` gives them."""

from __future__ import annotations

import logging

from core.config import Config
from core.log import configure_logging
from core.server.run import ServerConfig


def test_uvicorn_builds_no_access_line_of_its_own():
    # uvicorn's protocol writes its own access line when "uvicorn.access" reaches a
    # handler; even with that logger disabled, it built the line's arguments (the client's
    # address, the path quoted again) for every response. Ours comes from the middleware.
    ServerConfig(Config(), workers=1)
    configure_logging("INFO")
    assert not logging.getLogger("uvicorn.access").hasHandlers()
