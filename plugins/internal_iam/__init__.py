"""Service authentication with AWS SigV4 for the internal routes.

Three modes: `static` (key pairs from config), `sts` (a signed sts:GetCallerIdentity
replayed to our STS endpoint: task roles whose secrets we never see) and `gateway` (an
identity asserted by a trusted API Gateway). Also signs `itube transcoder-example`'s requests.
"""

from __future__ import annotations

import logging
from typing import Any

from core.config import Config
from core.context import AppContext
from core.plugins import hookimpl
from plugins.internal_iam.authenticator import IamState, build_state
from plugins.internal_iam.config import InternalIamSettings, problems

# The client side: how `itube transcoder-example` (the video plugin's) signs its requests.
from plugins.internal_iam.transcoder import service_client_auth

NAME = "internal_iam"
log = logging.getLogger("itube.internal_iam")
__all__ = ["service_client_auth"]


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: InternalIamSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    return problems(settings[NAME], production=config.is_production)


@hookimpl
def startup(ctx: AppContext) -> None:
    settings: InternalIamSettings = ctx.settings(NAME)
    ctx.state[NAME] = build_state(ctx, settings)
    if ctx.config.is_production and settings.mode != "gateway" and not ctx.cache.shared:
        log.warning("the cache is per process: a replayed request can succeed once per process")


@hookimpl
def shutdown(ctx: AppContext) -> Any:
    state: IamState | None = ctx.state.pop(NAME, None)
    return state.close() if state is not None else None


@hookimpl
def service_authenticator(ctx: AppContext) -> Any:
    return ctx.state[NAME].authenticator
