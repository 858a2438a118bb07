"""Settings of the Cognito user-auth provider (`[plugins.auth_cognito]`).

Every pool setting left empty falls back to what the local AWS emulation provisioned
(`ctx.aws.resource("cognito_...")`), so the embedded default needs none of them.
"""

from __future__ import annotations

import re

import attrs

from core.aws import AwsClients
from core.config import secret
from core.errors import ConfigError
from core.sessions import AuthRateLimits, PasswordPolicy
from core.sessions.policy import DEFAULT_RECHECK_SECONDS


@attrs.define
class CognitoSettings:
    # The user pool id, e.g. "eu-west-1_AbCdEf123".
    user_pool_id: str = ""
    # The app client id; the client must allow USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH.
    client_id: str = ""
    # The app client's secret (signs every call as SECRET_HASH); empty when it has none.
    client_secret: str = secret()
    # The `iss` every token must carry; empty derives it from [aws] region and the pool id.
    issuer: str = ""
    # Where the pool publishes its signing keys; empty is "<issuer>/.well-known/jwks.json".
    jwks_url: str = ""
    # Cognito's API endpoint; empty uses the app's [aws] clients (a VPC endpoint, a proxy).
    endpoint_url: str = ""
    # Confirm every sign-up at once (an admin call). Development only: refused in production.
    auto_confirm_sign_ups: bool = False
    # Mark the session cookies Secure. Only a local development config may turn this off.
    secure_cookies: bool = True
    # How long a process trusts a session it verified before checking it again: a
    # sign-out is refused at once by the process that handled it and by every other
    # process within this many seconds. 0 checks every request; at most 60.
    session_recheck_seconds: float = DEFAULT_RECHECK_SECONDS
    # Refresh cookie lifetime; keep it equal to the app client's refresh-token expiration.
    refresh_token_days: int = 30
    # The longest access-token lifetime the app client issues: a global sign-out is
    # remembered this long, so older tokens of that user are refused everywhere.
    max_access_token_seconds: int = 3600
    # The fewest seconds between two key-set fetches caused by an unknown key id.
    jwks_min_refetch_seconds: int = 60
    # Clock skew tolerated between Cognito and this server: on `exp` and `iat`, and around a
    # sign-out (tokens issued this close to it are checked with Cognito once).
    leeway_seconds: int = 30
    # Wrong confirmation codes an e-mail address may send; then only a new code
    # (resend-code) is tried again.
    confirmation_attempts: int = 5
    # Checked before Cognito sees a new password; mirror the pool's password policy.
    password_policy: PasswordPolicy = attrs.Factory(PasswordPolicy)
    # Rate limits of the sign-up and sign-in routes.
    rate_limits: AuthRateLimits = attrs.Factory(AuthRateLimits)


@attrs.frozen
class PoolTarget:
    """The pool this app talks to, once settings and provisioned resources are merged."""

    user_pool_id: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    issuer: str
    jwks_url: str
    endpoint_url: str
    auto_confirm: bool
    region: str


_POOL_REGION = re.compile(r"^([a-z]{2}(?:-[a-z]+)+-\d+)_")


def resolve_pool(settings: CognitoSettings, aws: AwsClients) -> PoolTarget:
    """Settings first, then what the local AWS emulation provisioned, then derivations."""
    pool_id = settings.user_pool_id or aws.resource("cognito_user_pool_id")
    client_id = settings.client_id or aws.resource("cognito_client_id")
    if not pool_id or not client_id:
        raise ConfigError(
            "plugins.auth_cognito: user_pool_id and client_id are required "
            "(no local AWS emulation provisioned a pool)"
        )
    # A pool id starts with its region ("eu-west-1_AbC123"); the issuer names that region.
    match = _POOL_REGION.match(pool_id)
    region = match[1] if match else aws.region
    issuer = (settings.issuer or aws.resource("cognito_issuer")
              or f"https://cognito-idp.{region}.amazonaws.com/{pool_id}")
    return PoolTarget(
        user_pool_id=pool_id,
        client_id=client_id,
        client_secret=settings.client_secret or aws.resource("cognito_client_secret"),
        issuer=issuer,
        jwks_url=(settings.jwks_url or aws.resource("cognito_jwks_url")
                  or f"{issuer}/.well-known/jwks.json"),
        endpoint_url=settings.endpoint_url or aws.resource("cognito_endpoint_url"),
        auto_confirm=settings.auto_confirm_sign_ups
        or aws.resource("cognito_auto_confirm") == "true",
        region=region,
    )
