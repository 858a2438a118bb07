"""The client side of internal_iam: how `itube transcoder-example` (the video plugin's)
signs its requests under this strategy."""

from __future__ import annotations

from typing import Any

import httpx
from botocore.credentials import Credentials

from core.config import Config
from core.errors import ConfigError
from core.plugins import hookimpl
from plugins.internal_iam.client import SigV4Signer, StsProofSigner
from plugins.internal_iam.config import InternalIamSettings

NAME = "internal_iam"


@hookimpl(optionalhook=True)
def service_client_auth(config: Config, settings: dict[str, Any]) -> httpx.Auth:
    iam: InternalIamSettings = settings[NAME]
    try:
        return example_signer(iam, iam.region or config.aws.region)
    except LookupError as exc:
        raise ConfigError(f"{config.source}: plugins.{NAME}: {exc}") from None


def example_signer(settings: InternalIamSettings, region: str) -> httpx.Auth:
    """static mode: a configured key pair; sts mode: boto3's credential chain."""
    if settings.mode == "static":
        key_id = settings.example.access_key_id or next(iter(settings.keys), "")
        key = settings.keys.get(key_id)
        if key is None:
            raise LookupError(f"no key {key_id!r} under [plugins.internal_iam.keys]")
        credentials = Credentials(key_id, key.secret_access_key, key.session_token or None)
        return SigV4Signer(credentials, region=region, service=settings.service)
    if settings.mode == "sts":
        import boto3  # only here: loading the plugin stays free of it

        credentials = boto3.Session().get_credentials()
        if credentials is None:
            raise LookupError("sts mode signs with boto3's credentials; none were found")
        endpoint = settings.sts.endpoint_url or f"https://sts.{region}.amazonaws.com"
        return StsProofSigner(credentials, sts_endpoint_url=endpoint, sts_region=region,
                              server_id=settings.sts.server_id)
    raise LookupError("gateway mode: send the example's requests through API Gateway")
