"""User auth on an AWS Cognito user pool, with HttpOnly cookie sessions.

Sign-up, confirmation, sign-in, refresh and sign-out go to Cognito (off the event loop);
every request's access cookie is verified locally against the pool's published keys.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio.to_thread
import httpx
from piccolo.conf.apps import AppConfig
from starlette.routing import BaseRoute

from core.cache import LocalFallback
from core.config import Config
from core.context import AppContext
from core.health import ReadinessCheck
from core.plugins import hookimpl
from core.sessions import (
    CookieAuthenticator,
    SessionPolicy,
    session_authenticator,
    session_routes,
)
from plugins.auth_cognito.attempts import CodeAttempts
from plugins.auth_cognito.config import CognitoSettings, resolve_pool
from plugins.auth_cognito.gateway import CognitoGateway, cognito_client
from plugins.auth_cognito.revocations import Revocations
from plugins.auth_cognito.service import CognitoSessions
from plugins.auth_cognito.tokens import JwksKeys, TokenVerifier

NAME = "auth_cognito"
log = logging.getLogger("itube.auth_cognito")


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: CognitoSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    mine: CognitoSettings = settings[NAME]
    problems = SessionPolicy.of(mine).problems(f"plugins.{NAME}",
                                               production=config.is_production)
    if mine.confirmation_attempts < 1:
        problems.append(f"plugins.{NAME}.confirmation_attempts: expected at least 1, "
                        f"got {mine.confirmation_attempts}")
    if config.is_production and mine.auto_confirm_sign_ups:
        problems.append(f"plugins.{NAME}.auto_confirm_sign_ups is for local development "
                        "only; production sign-ups confirm by e-mail")
    return problems


@hookimpl
def register_piccolo_app() -> AppConfig:
    from plugins.auth_cognito.piccolo_app import APP_CONFIG

    return APP_CONFIG


@hookimpl
def register_routes(ctx: AppContext) -> list[BaseRoute]:
    settings: CognitoSettings = ctx.settings(NAME)
    return session_routes(NAME, SessionPolicy.of(settings))


@hookimpl
def startup(ctx: AppContext) -> Any:
    return _start(ctx)


async def _start(ctx: AppContext) -> None:
    settings: CognitoSettings = ctx.settings(NAME)
    assert ctx.aws is not None
    pool = resolve_pool(settings, ctx.aws)
    client = await anyio.to_thread.run_sync(cognito_client, ctx.aws, pool)
    http = httpx.AsyncClient(timeout=5.0)
    keys = JwksKeys(http, pool.jwks_url, min_refetch_seconds=settings.jwks_min_refetch_seconds)
    verifier = TokenVerifier(keys, issuer=pool.issuer, client_id=pool.client_id,
                             leeway=settings.leeway_seconds)
    if ctx.config.is_production and not ctx.cache.shared:
        log.warning("the %s cache is per process: a sign-out is only enforced by the "
                    "process that handled it", ctx.cache.name)
    security_state = LocalFallback(ctx.cache)
    revocations = Revocations(security_state,
                              remember_seconds=settings.max_access_token_seconds,
                              margin=settings.leeway_seconds)
    attempts = CodeAttempts(security_state, limit=settings.confirmation_attempts)
    ctx.state[NAME] = CognitoSessions(
        CognitoGateway(client, pool), verifier, revocations, attempts, pool, settings
    )
    ctx.state[f"{NAME}:http"] = http


@hookimpl
def shutdown(ctx: AppContext) -> Any:
    http = ctx.state.pop(f"{NAME}:http", None)
    return http.aclose() if http is not None else None


@hookimpl
def user_authenticator(ctx: AppContext) -> CookieAuthenticator:
    return session_authenticator(ctx, NAME, SessionPolicy.of(ctx.settings(NAME)))


@hookimpl
def readiness_checks(ctx: AppContext) -> list[ReadinessCheck]:
    sessions: CognitoSessions = ctx.state[NAME]
    # Without the signing keys no session verifies, but public routes still work.
    return [ReadinessCheck("cognito-keys", sessions.verifier.keys.load, critical=False)]
