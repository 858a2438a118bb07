"""Local AWS emulation for the embedded default and the tests: moto's server, started
in-process and provisioned with the user pool, the buckets and the upload-events queue.
Never for production: a production config refuses to load it."""

from __future__ import annotations

from typing import Any

from core.aws import AwsEnvironment
from core.config import Config
from core.context import AppContext
from core.plugins import hookimpl
from plugins.local_aws.config import LocalAwsSettings
from plugins.local_aws.service import bucket_origins, provision, start_emulator
from plugins.local_aws.shared import shared_environment, supervisor_pid

NAME = "local_aws"
OWNERSHIP = f"{NAME}:ownership"


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: LocalAwsSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    if config.is_production:
        return ["local_aws emulates AWS for development and tests; remove it in production"]
    return []


@hookimpl
def aws_environment(ctx: AppContext) -> AwsEnvironment:
    supervisor = supervisor_pid()
    if supervisor is None:
        return _emulate(ctx)
    # One of several workers: they all use the emulation the first of them made.
    environment, ownership = shared_environment(supervisor, lambda: _emulate(ctx))
    if ownership is not None:
        ctx.state[OWNERSHIP] = ownership
    return environment


def _emulate(ctx: AppContext) -> AwsEnvironment:
    settings: LocalAwsSettings = ctx.settings(NAME)
    endpoint = settings.endpoint_url
    if not endpoint:
        server, endpoint = start_emulator(settings)
        ctx.state[NAME] = server
    return provision(settings, endpoint,
                     web_origins=bucket_origins(settings, ctx.config.http.cors_origins))


@hookimpl
def shutdown(ctx: AppContext) -> None:
    server = ctx.state.pop(NAME, None)
    if server is not None:
        server.stop()
    ownership = ctx.state.pop(OWNERSHIP, None)
    if ownership is not None:
        ownership.release()
