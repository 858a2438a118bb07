"""boto3 clients, made once per app from `[aws]` and whatever `aws_environment` supplied.

Every client waits `connect_timeout_seconds` for a connection and `read_timeout_seconds`
for an answer, `max_attempts` times at most: an AWS that does not answer costs a request
about `max_attempts × (connect + read)` seconds, then the caller's 503.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import attrs
import boto3
import httpx
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
        self._section = section
        self._session = boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._make(service)
            return self._clients[service]

    def _make(self, service: str) -> Any:
        return self._session.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            config=self.boto_config(service),
            **self._credentials,
        )

    def boto_config(self, service: str, region: str | None = None) -> BotoConfig:
        """The timeouts and retries of `[aws]`, for the app's clients and any client a
        plugin makes itself (another region or endpoint)."""
        return BotoConfig(
            region_name=region or self.region,
            signature_version="s3v4" if service == "s3" else None,
            # total_max_attempts counts the first try (botocore's max_attempts does not).
            retries={"total_max_attempts": self._section.max_attempts, "mode": "standard"},
            connect_timeout=self._section.connect_timeout_seconds,
            read_timeout=self._section.read_timeout_seconds,
            max_pool_connections=32,
        )

    def endpoints(self) -> list[str]:
        """The endpoint URLs of the clients made so far, each once."""
        with self._lock:
            clients = list(self._clients.values())
        return list(dict.fromkeys(client.meta.endpoint_url for client in clients))

    async def check_reachable(self) -> None:
        """Readiness: every endpoint the app's clients use answers HTTP within the timeouts.
        Any status will do (no credentials are sent): one request per endpoint, no AWS
        operation, nothing billed."""
        timeout = httpx.Timeout(self._section.read_timeout_seconds,
                                connect=self._section.connect_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout) as http:
            await asyncio.gather(*(http.head(url) for url in self.endpoints()))

    def resource(self, name: str, default: str = "") -> str:
        """A provisioned resource name, or `default` when nothing provisioned it."""
        return self.resources.get(name, default)

    def credentials(self) -> Any:
        """The credentials the clients sign with (for signing our own requests)."""
        key, secret_key, token = self._credentials.values()
        if key and secret_key:
            return Credentials(key, secret_key, token)
        return self._session.get_credentials()
