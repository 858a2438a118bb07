"""boto3 clients, made once per app from `[aws]` and whatever `aws_environment` supplied.

Every client waits `connect_timeout_seconds` for a connection and `read_timeout_seconds`
for an answer, `max_attempts` times at most: an AWS that does not answer costs a request
about `max_attempts × (connect + read)` seconds, then the caller's 503.

Credentials found by boto3's chain (a container or instance role, an assumed role) are
refreshed by botocore when they near their expiry, inside whatever call uses them next: a
presigned URL too. A refresh that fails raises one of `CREDENTIAL_FAULTS`, which callers
turn into the same 503. The container and instance metadata fetches and the STS client of
an assumed role keep the `[aws]` timeouts and attempts too (botocore sleeps 1 s between a
container fetch's attempts).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import attrs
import boto3
import httpx
from botocore.config import Config as BotoConfig
from botocore.credentials import ContainerProvider, Credentials
from botocore.exceptions import (
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    MetadataRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    RefreshWithMFAUnsupportedError,
)
from botocore.httpsession import URLLib3Session
from botocore.loaders import Loader, create_loader
from botocore.utils import ContainerMetadataFetcher

from core.config import AwsSection

# What reading credentials can raise when they cannot be had or refreshed: none found, the
# metadata endpoint failing or not answering, STS refusing or not answering an assumed role.
CREDENTIAL_FAULTS: tuple[type[Exception], ...] = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    MetadataRetrievalError,
    RefreshWithMFAUnsupportedError,
    ConnectionError,
    HTTPClientError,
    ClientError,
)


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


@functools.cache
def _shared_loader(data_path: str | None) -> Loader:
    """botocore's service models, read once per process: each session's own loader parses
    them again (~0.3 s for S3's), and every app, CLI command and worker makes a session."""
    return create_loader(data_path)


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
        self._session = self._bounded_session()
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _bounded_session(self) -> boto3.session.Session:
        """A session whose credential chain waits as long as `[aws]` says: the instance
        metadata fetch, and every client it makes itself (the STS client of an assumed
        role) with the timeouts and retries of the app's own clients."""
        session = boto3.session.Session()
        core = session._session
        core.register_component("data_loader",
                                _shared_loader(core.get_config_variable("data_path")))
        core.set_config_variable("metadata_service_timeout",
                                 self._section.connect_timeout_seconds
                                 + self._section.read_timeout_seconds)
        core.set_config_variable("metadata_service_num_attempts", self._section.max_attempts)
        core.set_default_client_config(self._timeouts())
        self._bound_container_provider(core.get_component("credential_provider"))
        return session

    def _bound_container_provider(self, resolver: Any) -> None:
        """botocore's container provider waits 2 s an attempt, 3 attempts: ours waits
        `[aws]`'s connect + read timeouts, `max_attempts` times."""
        methods = [provider.METHOD for provider in resolver.providers]
        if ContainerProvider.METHOD not in methods:
            return
        timeout = self._section.connect_timeout_seconds + self._section.read_timeout_seconds
        fetcher = ContainerMetadataFetcher(session=URLLib3Session(timeout=timeout))
        fetcher.TIMEOUT_SECONDS = timeout
        fetcher.RETRY_ATTEMPTS = self._section.max_attempts
        resolver.providers[methods.index(ContainerProvider.METHOD)] = ContainerProvider(
            fetcher=fetcher)

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
        return self._timeouts().merge(BotoConfig(
            region_name=region or self.region,
            signature_version="s3v4" if service == "s3" else None,
            max_pool_connections=32,
        ))

    def _timeouts(self) -> BotoConfig:
        return BotoConfig(
            # total_max_attempts counts the first try (botocore's max_attempts does not).
            retries={"total_max_attempts": self._section.max_attempts, "mode": "standard"},
            connect_timeout=self._section.connect_timeout_seconds,
            read_timeout=self._section.read_timeout_seconds,
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
