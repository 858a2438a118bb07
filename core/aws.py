"""boto3 clients, made once per app from `[aws]` and whatever `aws_environment` supplied."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import boto3
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from core.config import AwsSection


@attrs.define
class AwsEnvironment:
    """Where AWS lives for this app and what exists there.

    `resources` carries provisioned names (user pool and client ids, client secret,
    bucket names, queue URL) so plugins can default their settings to them without
    importing the plugin that provisioned them.
    """

    endpoint_url: str = ""
    region: str = ""
    access_key_id: str = attrs.field(default="", repr=False)
    secret_access_key: str = attrs.field(default="", repr=False)
    resources: dict[str, str] = attrs.Factory(dict)


class AwsClients:
    """One boto3 client per service, created on first use and shared by the app's threads."""

    def __init__(self, section: AwsSection, environment: AwsEnvironment | None = None):
        env = environment or AwsEnvironment()
        self.region = env.region or section.region
        self.endpoint_url = env.endpoint_url or section.endpoint_url or None
        self.resources = dict(env.resources)
        self._credentials = {
            "aws_access_key_id": env.access_key_id or section.access_key_id or None,
            "aws_secret_access_key": env.secret_access_key or section.secret_access_key or None,
            "aws_session_token": section.session_token or None,
        }
        self._session = boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def _make(self, service: str) -> Any:
        config = BotoConfig(
            region_name=self.region,
            signature_version="s3v4" if service == "s3" else None,
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=3,
            read_timeout=10,
            max_pool_connections=32,
        )
        return self._session.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=config,
            **self._credentials,
        )

    def resource(self, name: str, default: str = "") -> str:
        """A provisioned resource name, or `default` when nothing provisioned it."""
        return self.resources.get(name, default)

    def credentials(self) -> Any:
        """The credentials the clients sign with (for signing our own requests)."""
        key, secret_key, token = self._credentials.values()
        if key and secret_key:
            return Credentials(key, secret_key, token)
        return self._session.get_credentials()
