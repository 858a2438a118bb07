"""User auth with passwords in our own database: the same routes and cookies as
auth_cognito, for operators without Cognito (and the proof that user auth is swappable)."""

from __future__ import annotations

from typing import Any

import pluggy
from argon2 import PasswordHasher
from piccolo.conf.apps import AppConfig
from starlette.routing import BaseRoute

from core.config import Config
from core.context import AppContext
from core.errors import ConfigError
from core.plugins import hookimpl, resolve_all
from core.sessions import (
    CookieAuthenticator,
    SessionPolicy,
    session_authenticator,
    session_routes,
)
from plugins.auth_local import hookspecs
from plugins.auth_local.config import LocalAuthSettings
from plugins.auth_local.passwords import Passwords
from plugins.auth_local.service import LocalSessions

NAME = "auth_local"


@hookimpl
def register_hookspecs(pm: pluggy.PluginManager) -> None:
    pm.add_hookspecs(hookspecs)


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: LocalAuthSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    mine: LocalAuthSettings = settings[NAME]
    problems = SessionPolicy.of(mine).problems(f"plugins.{NAME}",
                                               production=config.is_production)
    if mine.confirmation_attempts < 1:
        problems.append(f"plugins.{NAME}.confirmation_attempts: expected at least 1, "
                        f"got {mine.confirmation_attempts}")
    if mine.refresh_reuse_grace_seconds < 0:
        problems.append(f"plugins.{NAME}.refresh_reuse_grace_seconds: expected 0 or more, "
                        f"got {mine.refresh_reuse_grace_seconds}")
    if mine.argon2_time_cost < 1 or mine.argon2_parallelism < 1 \
            or mine.argon2_memory_kib < 8 * mine.argon2_parallelism:
        problems.append(f"plugins.{NAME}.argon2_*: need time_cost >= 1, parallelism >= 1 and "
                        "memory_kib >= 8 x parallelism")
    return problems


@hookimpl
def register_piccolo_app() -> AppConfig:
    from plugins.auth_local.piccolo_app import APP_CONFIG

    return APP_CONFIG


@hookimpl
def register_routes(ctx: AppContext) -> list[BaseRoute]:
    settings: LocalAuthSettings = ctx.settings(NAME)
    return session_routes(NAME, SessionPolicy.of(settings))


@hookimpl
def startup(ctx: AppContext) -> None:
    settings: LocalAuthSettings = ctx.settings(NAME)
    deliver_hook = ctx.pm.hook.deliver_confirmation_code
    if settings.confirmation == "code" and not deliver_hook.get_hookimpls():
        raise ConfigError(
            f'{ctx.config.source}: plugins.{NAME}.confirmation = "code" needs a plugin that '
            "implements deliver_confirmation_code (to send the codes)"
        )

    async def deliver(email: str, name: str, code: str) -> None:
        await resolve_all(deliver_hook(email=email, name=name, code=code))

    hasher = PasswordHasher(time_cost=settings.argon2_time_cost,
                            memory_cost=settings.argon2_memory_kib,
                            parallelism=settings.argon2_parallelism)
    ctx.state[NAME] = LocalSessions(settings, Passwords(hasher), deliver)


@hookimpl
def user_authenticator(ctx: AppContext) -> CookieAuthenticator:
    return session_authenticator(ctx, NAME, SessionPolicy.of(ctx.settings(NAME)))
