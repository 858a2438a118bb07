"""Service authentication with HMAC-signed requests: the alternative to `internal_iam`
that proves the service-auth strategy is swapped in config alone."""

from __future__ import annotations

from typing import Any

from core.config import Config
from core.context import AppContext
from core.hosts import ExpectedHosts
from core.plugins import hookimpl
from core.replay import ReplayGuard
from plugins.internal_token.authenticator import HmacTokenAuthenticator
from plugins.internal_token.config import InternalTokenSettings, problems
from plugins.internal_token.example import service_client_auth

__all__ = ["service_client_auth"]  # signs `itube transcoder-example`'s requests

NAME = "internal_token"


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: InternalTokenSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    return problems(settings[NAME], production=config.is_production)


@hookimpl
def startup(ctx: AppContext) -> None:
    settings: InternalTokenSettings = ctx.settings(NAME)
    ctx.state[NAME] = HmacTokenAuthenticator(
        keys=settings.keys,
        allowed=settings.allowed_principals,
        expected_hosts=ExpectedHosts.parse(settings.expected_hosts),
        max_skew=settings.max_clock_skew_seconds,
        replay=ReplayGuard(ctx.cache, namespace=NAME),
    )


@hookimpl
def service_authenticator(ctx: AppContext) -> HmacTokenAuthenticator:
    return ctx.state[NAME]
