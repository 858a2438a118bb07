"""One signed POST to one endpoint (Standard Webhooks), and what came of it."""

from __future__ import annotations

import datetime as dt
import time

import attrs
import httpcore
import httpx
from standardwebhooks import Webhook

from plugins.webhooks.addresses import RefusedAddress, guarded_pool
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
    for one endpoint's name never carries another's requests. It speaks to httpcore's pool
    directly: an httpx client would add cookies, redirects, auth and a log line per
    request, none of which a webhook wants."""

    def __init__(self, settings: WebhooksSettings) -> None:
        endpoints = settings.named_endpoints()
        self.timeouts = {"connect": settings.connect_timeout_seconds,
                         "read": settings.read_timeout_seconds,
                         "write": settings.read_timeout_seconds,
                         "pool": settings.read_timeout_seconds}
        self.endpoints = {endpoint.name: endpoint for endpoint in endpoints}
        self.signers = {endpoint.name: Webhook(endpoint.secret)
                        for endpoint in endpoints if endpoint.secret}
        self.pools = {endpoint.name: guarded_pool(allow_private=settings.allow_private_addresses)
                      for endpoint in endpoints}
        self.urls: dict[str, httpcore.URL] = {}

    async def aclose(self) -> None:
        for pool in self.pools.values():
            await pool.aclose()

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
        headers = self.headers(endpoint, message_id, payload)
        started = time.perf_counter()
        try:
            async with self.pools[endpoint_name].stream(
                    "POST", self._url(endpoint), headers=list(headers.items()),
                    content=payload.encode(), extensions={"timeout": self.timeouts}) as response:
                latency = _elapsed_ms(started)
                excerpt = await _excerpt(response)
        except RefusedAddress as exc:
            return Outcome(False, None, _elapsed_ms(started), str(exc))
        except httpcore.TimeoutException as exc:
            return Outcome(False, None, _elapsed_ms(started), f"timed out ({type(exc).__name__})")
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol,
                OSError) as exc:
            return Outcome(False, None, _elapsed_ms(started),
                           f"{type(exc).__name__}: {exc}".rstrip(": "))
        if 200 <= response.status < 300:
            return Outcome(True, response.status, latency)
        answer = httpx.Headers(response.headers)
        error = f"answered {response.status}"
        if 300 <= response.status < 400:
            error += f" (a redirect to {answer.get('location', '?')}; not followed)"
        if excerpt:
            error += f": {excerpt}"
        return Outcome(False, response.status, latency, error,
                       parse_retry_after(answer.get("retry-after")))

    def _url(self, endpoint: Endpoint) -> httpcore.URL:
        """The endpoint's URL as httpcore takes it (host IDNA-encoded), parsed once."""
        url = self.urls.get(endpoint.name)
        if url is None:
            parsed = httpx.URL(endpoint.url)
            url = self.urls[endpoint.name] = httpcore.URL(
                scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port,
                target=parsed.raw_path)
        return url


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


async def _excerpt(response: httpcore.Response) -> str:
    """The start of the body of a failed answer, for the log (none for a 2xx). The body is
    read to its end when short, so the connection goes back to the pool."""
    kept = b""
    async for chunk in response.aiter_stream():
        kept += chunk
        if len(kept) >= READ_BYTES:
            break
    if 200 <= response.status < 300:
        return ""
    return kept[:EXCERPT_BYTES].decode("utf-8", "replace").strip()
