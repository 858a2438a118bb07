"""How a service calls the video plugin's internal routes: the service-auth strategy in
use offers the client side of itself. Implementations are optional hooks
(`hookimpl(optionalhook=True)`), so a strategy loads without the video plugin too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import httpx

    from core.config import Config

hookspec = pluggy.HookspecMarker("itube")


@hookspec(firstresult=True)
def service_client_auth(config: Config, settings: dict[str, Any]) -> httpx.Auth | None:
    """Return an `httpx.Auth` that signs requests to the internal routes the way this
    strategy verifies them, from its own settings (`settings` holds every plugin's). Raise
    `core.errors.ConfigError` when the settings give it nothing to sign with."""
