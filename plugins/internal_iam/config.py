"""Settings of the SigV4 service authentication (`[plugins.internal_iam]`)."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

import attrs

from core.config import secret
from core.hosts import expected_hosts_problems

# The embedded default's key pair. Not a secret: it sits in config/default.toml and the
# README so a newcomer can sign requests at once; a production config refuses it.
DEVELOPMENT_ACCESS_KEY_ID = "AKIAITUBEDEVELOPMENT"
DEVELOPMENT_SECRET_ACCESS_KEY = "itube-development-secret-not-for-production"


@attrs.define
class StaticKey:
    """One IAM user's key pair, under `[plugins.internal_iam.keys.<ACCESS_KEY_ID>]`."""

    # The secret access key (use `env:NAME` outside the embedded default).
    secret_access_key: str = secret()
    # Set for temporary credentials: the request's X-Amz-Security-Token must equal it.
    session_token: str = secret()
    # The principal this key signs in as (matched by `allowed_principals`); default: the
    # access key id.
    principal: str = ""


@attrs.define
class StsSettings:
    """`mode = "sts"`: callers prove who they are with a signed sts:GetCallerIdentity."""

    # Where we send the caller's signed GetCallerIdentity. Empty: what the AWS environment
    # provisioned (the emulator in the embedded default), else https://sts.<region>.amazonaws.com.
    endpoint_url: str = ""
    # Callers must sign `X-Itube-Server-ID: <server_id>` so a proof made for another
    # server cannot be replayed here.
    server_id: str = "itube"
    # How long a verified proof's identity is remembered (seconds; never beyond its date
    # window).
    identity_cache_seconds: int = 60
    # Time limit of one call to STS, in seconds.
    timeout_seconds: int = 5


@attrs.define
class GatewaySettings:
    """`mode = "gateway"`: API Gateway (IAM auth) verified the caller and tells us who."""

    # Source networks (CIDR) of the trusted proxy; requests from anywhere else asserting
    # an identity are refused.
    trusted_networks: list[str] = attrs.Factory(list)
    # The header the proxy adds with the shared secret.
    secret_header: str = "X-Itube-Gateway-Secret"
    # The secret the proxy sends in `secret_header` (at least 32 characters in production).
    shared_secret: str = secret()
    # The header carrying the caller's ARN (map `$context.identity.userArn` to it).
    identity_header: str = "X-Itube-Caller-Arn"


@attrs.define
class ExampleSettings:
    """How `itube transcoder-example` signs under this strategy (where it finds the API and
    the queue is `[plugins.transcoder_example]`, the video plugin's)."""

    # The access key it signs with (a key of `keys` in static mode; default: the first);
    # in sts mode it signs with boto3's credential chain.
    access_key_id: str = ""


@attrs.define
class InternalIamSettings:
    # static: key pairs from config; sts: signed GetCallerIdentity replayed to STS;
    # gateway: identity asserted by a trusted API Gateway.
    mode: Literal["static", "sts", "gateway"] = "static"
    # Principals allowed on internal routes: fnmatch patterns over the principal id (the
    # key's principal in static mode, the caller's ARN in sts and gateway modes).
    allowed_principals: list[str] = attrs.Factory(list)
    # The Host values signed requests must name (static and sts modes): "name" matches the
    # name on any port, "name:port" that port only; no wildcards. Required: a request signed
    # for another deployment sharing the key is refused.
    expected_hosts: list[str] = attrs.Factory(list)
    # The region of the credential scope signed requests must name; empty: the `[aws]`
    # region.
    region: str = ""
    # The service of the credential scope signed requests must name.
    service: str = "execute-api"
    # Accepted distance between X-Amz-Date and our clock, both ways (seconds).
    max_clock_skew_seconds: int = 300
    # static mode: access key id -> key.
    keys: dict[str, StaticKey] = attrs.Factory(dict)
    # sts mode: how callers' proofs are checked with STS.
    sts: StsSettings = attrs.Factory(StsSettings)
    # gateway mode: which proxy is trusted to assert the caller, and how.
    gateway: GatewaySettings = attrs.Factory(GatewaySettings)
    # How `itube transcoder-example` signs its requests.
    example: ExampleSettings = attrs.Factory(ExampleSettings)


_ACCOUNT_PINNED = re.compile(r"^arn:[a-z-]+:(iam|sts)::\d{12}:.+")


def admits_anyone(pattern: str) -> bool:
    """Whether an fnmatch pattern is only wildcards (`*`, `?*`): it matches every caller."""
    return bool(pattern) and not pattern.strip("*?")


def problems(settings: InternalIamSettings, *, production: bool) -> list[str]:
    """Settings that are valid alone but unusable or unsafe together."""
    prefix = "plugins.internal_iam"
    found: list[str] = []
    patterns = [pattern for pattern in settings.allowed_principals if pattern]
    if not patterns:
        found.append(f"{prefix}.allowed_principals is empty: no service could call the "
                     "internal routes")
    if settings.mode != "sts":  # sts says it its own way: not pinned to an account
        found += [f"{prefix}.allowed_principals: {pattern!r} admits every caller; name the "
                  "services' principals" for pattern in patterns if admits_anyone(pattern)]
    if not 1 <= settings.max_clock_skew_seconds <= 900:
        found.append(f"{prefix}.max_clock_skew_seconds must be between 1 and 900")
    if settings.mode != "gateway":
        found += expected_hosts_problems(settings.expected_hosts, key=f"{prefix}.expected_hosts")
    if settings.mode == "static":
        found += _static_problems(settings, production=production)
    elif settings.mode == "sts":
        found += [
            f"{prefix}.allowed_principals: {pattern!r} would admit callers of any AWS "
            "account; start each pattern with arn:aws:iam::<account id>: or "
            "arn:aws:sts::<account id>:"
            for pattern in patterns
            if not _ACCOUNT_PINNED.match(pattern)
        ]
    else:
        found += _gateway_problems(settings.gateway, production=production)
    return found


def _static_problems(settings: InternalIamSettings, *, production: bool) -> list[str]:
    prefix = "plugins.internal_iam.keys"
    found = [] if settings.keys else [f"{prefix}: static mode needs at least one key"]
    for key_id, key in settings.keys.items():
        if not key.secret_access_key:
            found.append(f"{prefix}.{key_id}.secret_access_key is empty")
        development = (key_id == DEVELOPMENT_ACCESS_KEY_ID
                       or key.secret_access_key == DEVELOPMENT_SECRET_ACCESS_KEY)
        if production and development:
            found.append(f"{prefix}.{key_id}: the development key pair is for the embedded "
                         "default only; configure your own keys (secrets through env:NAME)")
    return found


def _gateway_problems(gateway: GatewaySettings, *, production: bool) -> list[str]:
    prefix = "plugins.internal_iam.gateway"
    found = []
    if not gateway.trusted_networks:
        found.append(f"{prefix}.trusted_networks is empty: no proxy is trusted")
    for network in gateway.trusted_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            found.append(f"{prefix}.trusted_networks: {network!r} is not a CIDR network")
    if not gateway.shared_secret:
        found.append(f"{prefix}.shared_secret is empty")
    elif production and len(gateway.shared_secret) < 32:
        found.append(f"{prefix}.shared_secret must be at least 32 characters in production")
    return found
