"""`GET /metrics`: the app's registry in the Prometheus text format, for operators only.

Mounted only when `[metrics] enabled = true`. A client whose address (after trusted
proxies, `[http]`) is in `[metrics] allowed_networks` is served; any other must prove it
is an internal service (the loaded service-auth plugins), else 401/403 like an internal
route.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from core.clients import Network, parse_address, parse_networks
from core.config import MetricsSection
from core.deps import current_service, get_ctx

PATH = "/metrics"


def metrics_routes(section: MetricsSection) -> list[BaseRoute]:
    """The `/metrics` route, or none when metrics are off. ValueError on a bad network."""
    if not section.enabled:
        return []
    networks = parse_networks(section.allowed_networks)

    async def metrics_page(request: Request) -> Response:
        ctx = get_ctx(request)
        if not _from_allowed_network(ctx.clients.of(request.scope), networks):
            await current_service(request)
        return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return [Route(PATH, metrics_page, methods=["GET"], include_in_schema=False)]


def _from_allowed_network(address: str, networks: list[Network]) -> bool:
    ip = parse_address(address)
    return ip is not None and any(ip in network for network in networks)
