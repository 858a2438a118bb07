"""Settings of the webhooks plugin: `[plugins.webhooks]` and its endpoints."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from urllib.parse import urlsplit

import attrs

from core.config import secret
from core.events import EVENT_TYPES
from plugins.webhooks.addresses import refusal_reason

# Standard Webhooks: a symmetric secret is 24 to 64 random bytes, base64, prefixed `whsec_`.
SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
# The spec's example schedule up to 20 h: steps adding up to 51.6 h, so with full jitter
# the retries span about a day on average.
DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000]


@attrs.define
class WebhookEndpoint:
    """One receiver, `[plugins.webhooks.endpoints.<name>]`: the name (lowercase letters,
    digits, `-` and `_`) names it in the delivery log, the logs and `itube webhooks`;
    renaming it starts a new log."""

    # Where events are POSTed: https://... (http:// only outside production); no user or
    # password in it. Required.
    url: str = ""
    # The signing secret, `whsec_` + base64 of 24 to 64 random bytes; write `env:NAME`.
    secret: str = secret("", repr=False)
    # Event types sent to it (`video.status_changed`, ...); `*` for every type.
    event_types: list[str] = attrs.Factory(lambda: ["*"])
    # False sends it nothing: no event is queued for it while false.
    enabled: bool = True


@attrs.frozen
class Endpoint:
    """A configured endpoint and its name, as the plugin uses it."""

    name: str
    url: str
    secret: str = attrs.field(repr=False)
    event_types: tuple[str, ...] = ("*",)
    enabled: bool = True

    def wants(self, event_type: str) -> bool:
        return "*" in self.event_types or event_type in self.event_types


@attrs.define
class WebhooksSettings:
    # The receivers, by name: `[plugins.webhooks.endpoints.crm]`; see docs/webhooks.md.
    endpoints: dict[str, WebhookEndpoint] = attrs.Factory(dict)
    # Allow endpoints on private, loopback, link-local and other non-public addresses.
    # Off by default: a URL must not reach the deployment's own network (SSRF).
    allow_private_addresses: bool = False
    # How long connecting to an endpoint may take, in seconds.
    connect_timeout_seconds: float = 5.0
    # How long an endpoint may take to answer once connected, in seconds (the spec
    # recommends 15 to 30).
    read_timeout_seconds: float = 15.0
    # Waits after each failed attempt, in seconds: the n-th retry waits a random time
    # between 0 and the n-th value (full jitter); after the last one the delivery is
    # abandoned (`itube webhooks replay` sends it again).
    retry_schedule_seconds: list[float] = attrs.Factory(lambda: list(DEFAULT_RETRY_SCHEDULE))
    # An endpoint whose deliveries all failed for this long is disabled (a WARNING names
    # it); a change of its url, event types or enabled flag, or `itube webhooks enable`,
    # turns it back on.
    disable_after_seconds: float = 86_400.0
    # How often the delivery worker looks for due deliveries, in seconds (new events wake
    # it at once); 0 runs no worker in this process.
    poll_seconds: float = 1.0
    # Deliveries one worker claims at a time: each endpoint's sent in order, endpoints
    # in parallel.
    batch_size: int = 20

    def named_endpoints(self) -> list[Endpoint]:
        return [Endpoint(name, endpoint.url, endpoint.secret, tuple(endpoint.event_types),
                         endpoint.enabled)
                for name, endpoint in self.endpoints.items()]


def settings_problems(settings: WebhooksSettings, *, production: bool) -> list[str]:
    """What is wrong with the settings, each `KEY: what is wrong`; never a secret's value."""
    prefix = "plugins.webhooks"
    found: list[str] = []
    for name, endpoint in settings.endpoints.items():
        key = f"{prefix}.endpoints.{name}"
        if not NAME_PATTERN.match(name):
            found.append(f"{key}: the name must be 1-64 lowercase letters, digits, '-' or '_'")
        found += [f"{key}.url: {problem}" for problem in url_problems(
            endpoint.url, production=production,
            allow_private=settings.allow_private_addresses)]
        problem = secret_problem(endpoint.secret)
        if problem:
            found.append(f"{key}.secret: {problem}")
        if not endpoint.event_types:
            found.append(f"{key}.event_types is empty: write [\"*\"] for every type")
        unknown = [name for name in endpoint.event_types if name not in (*EVENT_TYPES, "*")]
        if unknown:
            found.append(f"{key}.event_types: unknown {', '.join(map(repr, unknown))} "
                         f"(expected \"*\" or some of: {', '.join(EVENT_TYPES)})")
    for name in ("connect_timeout_seconds", "read_timeout_seconds", "disable_after_seconds"):
        if getattr(settings, name) <= 0:
            found.append(f"{prefix}.{name}: expected more than 0, got {getattr(settings, name)}")
    if settings.poll_seconds < 0:
        found.append(f"{prefix}.poll_seconds: expected 0 or more, got {settings.poll_seconds}")
    if not 1 <= settings.batch_size <= 500:
        found.append(f"{prefix}.batch_size: expected 1 to 500, got {settings.batch_size}")
    if any(step < 0 for step in settings.retry_schedule_seconds):
        found.append(f"{prefix}.retry_schedule_seconds: every wait must be 0 or more")
    return found


def url_problems(url: str, *, production: bool, allow_private: bool) -> list[str]:
    if not url:
        return ["is empty: write the receiver's https://... URL"]
    parts = urlsplit(url)
    schemes = ("https",) if production else ("https", "http")
    if parts.scheme not in schemes:
        expected = "https://..." if production else "https://... or http://..."
        return [f"expected {expected}, got {url!r}"]
    if not parts.hostname:
        return [f"{url!r} names no host"]
    if parts.username is not None or parts.password is not None:
        return ["a user or password in the URL is not allowed (the URL is logged)"]
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return []
    reason = None if allow_private else refusal_reason(literal)
    return [f"{parts.hostname} is {reason} (set allow_private_addresses to allow it)"] \
        if reason else []


def secret_problem(value: str) -> str | None:
    """Why `value` is not a usable Standard Webhooks secret (the value is never quoted)."""
    if not value:
        return "is empty (write env:NAME, the variable holding whsec_...)"
    if not value.startswith(SECRET_PREFIX):
        return f"must start with {SECRET_PREFIX!r} (base64 of 24 to 64 random bytes)"
    try:
        raw = base64.b64decode(value[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        return f"must be {SECRET_PREFIX!r} followed by base64"
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        return f"must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, holds {len(raw)}"
    return None
