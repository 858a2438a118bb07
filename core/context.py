"""Per-app state: one AppContext per `create_app`, never a global."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from core.cache import Cache, MemoryCache, SingleFlight
from core.clients import ClientAddresses
from core.config import Config
from core.metrics import Metrics

if TYPE_CHECKING:
    from piccolo.engine.base import Engine

    from core.auth import ServiceAuthenticator, UserAuthenticator
    from core.aws import AwsClients
    from core.health import ReadinessCheck


@attrs.define(eq=False)
class AppContext:
    """Everything one app owns. Hooks receive it; handlers reach it through `core.deps`."""

    config: Config
    pm: pluggy.PluginManager
    # Structured `[plugins.<name>]` settings, by section name.
    plugin_settings: dict[str, Any] = attrs.Factory(dict)
    db: Engine | None = None
    aws: AwsClients | None = None
    cache: Cache = attrs.Factory(MemoryCache)
    flight: SingleFlight = attrs.Factory(SingleFlight)
    user_authenticators: list[UserAuthenticator] = attrs.Factory(list)
    service_authenticators: list[ServiceAuthenticator] = attrs.Factory(list)
    readiness: list[ReadinessCheck] = attrs.Factory(list)
    # This app's Prometheus registry and the kernel's metric families (core.metrics).
    metrics: Metrics = attrs.Factory(
        lambda self: Metrics(enabled=self.config.metrics.enabled), takes_self=True
    )
    clients: ClientAddresses = attrs.Factory(
        lambda self: ClientAddresses(self.config.http.trusted_proxies,
                                     self.config.http.client_address_header),
        takes_self=True,
    )
    # Plugin-owned per-app objects (clients, pools, services), keyed by plugin name.
    state: dict[str, Any] = attrs.Factory(dict)

    def settings(self, name: str) -> Any:
        """The structured settings of plugin section `name`."""
        return self.plugin_settings[name]
