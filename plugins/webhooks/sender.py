"""One signed POST to one endpoint (Standard Webhooks), and what came of it."""

from __future__ import annotations

import datetime as dt
import time

import attrs
import httpx
from standardwebhooks import Webhook

from plugins.webhooks.addresses import GuardedTransport, RefusedAddress
from plugins.webhooks.config import Endpoint, WebhooksSettings
from plugins.webhooks.schedule import parse_retry_after

# How much of an answer's body is kept in the delivery log.
EXCERPT_BYTES = 200
# How much of an answer's body is read at most: a body read to its end lets the connection
# serve the next delivery; a longer one is cut off, and its connection closed.
READ_BYTES = 64 * 1024
USER_AGENT = "itube-webhooks/1"


@attrs.frozen
class Outcome:
    """One attempt: delivered (a 2xx), or why not."""

    delivered: bool
    status: int | None
    latency_ms: int
    error: str | None = None
    # The receiver's `Retry-After`, in seconds.
    retry_after: float | None = None

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver wants no more webhooks (the endpoint is disabled)."""
        return self.status == 410


class WebhookSender:
    """Signs and POSTs deliveries; one connection pool per endpoint, so a connection made
    for one endpoint's name never carries another's requests."""

    def __init__(self, settings: WebhooksSettings) -> None:
        timeout = httpx.Timeout(settings.read_timeout_seconds,
                                connect=settings.connect_timeout_seconds)
        endpoints = settings.named_endpoints()
        self.endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        self.signers = {endpoint.name: Webhook(endpoint.secret)
                        for endpoint in endpoints if endpoint.secret}
        self.clients = {
            endpoint.name: httpx.AsyncClient(
                transport=GuardedTransport(allow_private=settings.allow_private_addresses),
                timeout=timeout, follow_redirects=False, trust_env=False,
            )
            for endpoint in endpoints
        }

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    def headers(self, endpoint: Endpoint, message_id: str, payload: str) -> dict[str, str]:
        """The signed headers for `payload`, timestamped now (the spec's attempt time)."""
        sent_at = dt.datetime.fromtimestamp(int(time.time()), dt.UTC)
        signature = self.signers[endpoint.name].sign(message_id, sent_at, payload)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
        }

    async def send(self, endpoint_name: str, message_id: str, payload: str) -> Outcome:
        """POST `payload` to the endpoint; never raises for what the endpoint or the
        network did (that is the outcome)."""
        endpoint = self.endpoints[endpoint_name]
        client = self.clients[endpoint_name]
        headers = self.headers(endpoint, message_id, payload)
        started = time.perf_counter()
        try:
            async with client.stream("POST", endpoint.url, content=payload.encode(),
                                     headers=headers) as response:
                latency = _elapsed_ms(started)
                excerpt = await _excerpt(response)
        except RefusedAddress as exc:
            return Outcome(False, None, _elapsed_ms(started), str(exc))
        except httpx.TimeoutException as exc:
            return Outcome(False, None, _elapsed_ms(started), f"timed out ({type(exc).__name__})")
        except (httpx.HTTPError, OSError) as exc:
            return Outcome(False, None, _elapsed_ms(started),
                           f"{type(exc).__name__}: {exc}".rstrip(": "))
        if 200 <= response.status_code < 300:
            return Outcome(True, response.status_code, latency)
        error = f"answered {response.status_code}"
        if response.is_redirect:
            error += f" (a redirect to {response.headers.get('location', '?')}; not followed)"
        if excerpt:
            error += f": {excerpt}"
        return Outcome(False, response.status_code, latency, error,
                       parse_retry_after(response.headers.get("retry-after")))


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def _excerpt(response: httpx.Response) -> str:
    """The start of the body of a failed answer, for the log (none for a 2xx). The body is
    read to its end when short, so the connection goes back to the pool."""
    kept = b""
    async for chunk in response.aiter_bytes():
        kept += chunk
        if len(kept) >= READ_BYTES:
            break
    if 200 <= response.status_code < 300:
        return ""
    return kept[:EXCERPT_BYTES].decode("utf-8", "replace").strip()
