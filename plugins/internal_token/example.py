"""The client side of internal_token: how `itube transcoder-example` (the video plugin's)
signs its requests under this strategy."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import httpx

from core.config import Config
from core.errors import ConfigError
from core.plugins import hookimpl
from plugins.internal_token.client import HmacTokenSigner
from plugins.internal_token.config import InternalTokenSettings

NAME = "internal_token"


@hookimpl(optionalhook=True)
def service_client_auth(config: Config, settings: dict[str, Any]) -> httpx.Auth:
    token: InternalTokenSettings = settings[NAME]
    key_id = token.client_key_id or first_allowed_key(token)
    secret = token.keys.get(key_id)
    if not secret:
        raise ConfigError(f"{config.source}: plugins.{NAME}.client_key_id: no key {key_id!r} "
                          f"under [plugins.{NAME}.keys] to sign with")
    return HmacTokenSigner(key_id, secret)


def first_allowed_key(settings: InternalTokenSettings) -> str:
    """The first key id `allowed_principals` admits, else the first key id."""
    allowed = [key_id for key_id in settings.keys
               if any(fnmatchcase(key_id, pattern) for pattern in settings.allowed_principals)]
    return next(iter(allowed or settings.keys), "")
