"""Settings of the HMAC-signed service requests (`[plugins.internal_token]`)."""

from __future__ import annotations

import attrs

from core.config import secret
from core.hosts import expected_hosts_problems

MIN_SECRET_CHARS = 32


@attrs.define
class InternalTokenSettings:
    # Key id -> shared secret (use `env:NAME`); each key id is also the principal's id.
    keys: dict[str, str] = secret(attrs.Factory(dict))
    # Key ids allowed on internal routes (fnmatch patterns).
    allowed_principals: list[str] = attrs.Factory(list)
    # The Host values signed requests must name: "name" matches the name on any port,
    # "name:port" that port only; no wildcards. Required: a request signed for another
    # deployment sharing the key is refused.
    expected_hosts: list[str] = attrs.Factory(list)
    # Accepted distance between the request's timestamp and our clock, both ways (seconds).
    max_clock_skew_seconds: int = 300
    # The key id a client built from this config signs with (`itube transcoder-example`);
    # empty: the first key `allowed_principals` admits.
    client_key_id: str = ""


def problems(settings: InternalTokenSettings, *, production: bool) -> list[str]:
    prefix = "plugins.internal_token"
    found = []
    if not settings.keys:
        found.append(f"{prefix}.keys is empty: no service could sign a request")
    if not settings.allowed_principals:
        found.append(f"{prefix}.allowed_principals is empty: no service could call the "
                     "internal routes")
    if not 1 <= settings.max_clock_skew_seconds <= 900:
        found.append(f"{prefix}.max_clock_skew_seconds must be between 1 and 900")
    found += expected_hosts_problems(settings.expected_hosts, key=f"{prefix}.expected_hosts")
    if settings.client_key_id and settings.client_key_id not in settings.keys:
        found.append(f"{prefix}.client_key_id: {settings.client_key_id!r} is not a key of "
                     f"{prefix}.keys")
    for key_id, key_secret in settings.keys.items():
        if not key_secret:
            found.append(f"{prefix}.keys.{key_id} is empty")
        elif production and len(key_secret) < MIN_SECRET_CHARS:
            found.append(f"{prefix}.keys.{key_id} must be at least {MIN_SECRET_CHARS} "
                         "characters in production")
    return found


