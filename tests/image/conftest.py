"""The built image, run for real: `docker run --network host` against the machine's
PostgreSQL (a fresh database) and Redis (a key prefix of its own), and the session's moto
server provisioned the way the embedded default provisions it.

Only `make image-test` runs these tests: it builds the image and names it in
`ITUBE_IMAGE_TEST`; without it (as in `make test`) they are skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from botocore.credentials import Credentials

from core.aws import AwsEnvironment
from plugins.local_aws.config import LocalAwsSettings
from plugins.local_aws.service import provision
from tests.support import services

IMAGE = os.environ.get("ITUBE_IMAGE_TEST", "")
ACCOUNT = "123456789012"  # moto's
REGION = "us-east-1"
TRANSCODER_ROLE = "itube-transcoder"
READY_SECONDS = 90
WORKERS = 3  # config/production.toml says 2: the environment must win
# AWS's documentation example key pair: shaped like a real one, valid nowhere.
EMULATOR_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
EMULATOR_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# Docker, a built image and minutes: `make test` leaves them to `make image-test`.
needs_image = pytest.mark.skipif(
    not IMAGE, reason="needs Docker and a built image: `make image-test` builds one and "
    "names it in ITUBE_IMAGE_TEST (make test does not: it takes minutes and root)")


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
    """Run the docker CLI; its output as text."""
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                          check=check)


def _aws(service: str, endpoint: str, credentials: Credentials | None = None) -> Any:
    creds = credentials or Credentials("testing", "testing")
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=creds.access_key,
                        aws_secret_access_key=creds.secret_key, aws_session_token=creds.token)


@pytest.fixture(scope="session")
def aws(moto_endpoint: str) -> AwsEnvironment:
    """The pool and client, the buckets and the upload-events queue, as in local_aws."""
    return provision(LocalAwsSettings(region=REGION, auto_confirm_sign_ups=False),
                     moto_endpoint)


@pytest.fixture(scope="session")
def transcoder(moto_endpoint: str) -> Credentials:
    """Temporary credentials of the transcoder's role, as an ECS task would hold them."""
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "sts:AssumeRole"}]}
    role = _aws("iam", moto_endpoint).create_role(
        RoleName=TRANSCODER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    temporary = _aws("sts", moto_endpoint).assume_role(
        RoleArn=role["Arn"], RoleSessionName="task-1")["Credentials"]
    return Credentials(temporary["AccessKeyId"], temporary["SecretAccessKey"],
                       temporary["SessionToken"])


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    services.require_postgres()
    url = services.create_postgres_database()
    yield url
    services.drop_postgres_database(url)


@pytest.fixture(scope="session")
def key_prefix() -> Iterator[str]:
    import redis

    services.require_redis()
    prefix = f"itube-image-{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(services.REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(scope="session")
def environment(aws: AwsEnvironment, moto_endpoint: str, database_url: str,
                key_prefix: str) -> dict[str, str]:
    """Every variable config/production.toml reads, pointed at the machine's servers."""
    resources = aws.resources
    return {
        "POSTGRES_DATABASE_URL": database_url,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "ITUBE__PLUGINS__CACHE_REDIS__KEY_PREFIX": key_prefix,
        "REGION_NAME": REGION,
        # The emulator takes any key; production refuses one not shaped like AWS's.
        "AWS_ACCESS_KEY_ID": EMULATOR_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET,
        "ITUBE__AWS__ENDPOINT_URL": moto_endpoint,
        "COGNITO_USER_POOL_ID": resources["cognito_user_pool_id"],
        "COGNITO_CLIENT_ID": resources["cognito_client_id"],
        "COGNITO_CLIENT_SECRET": resources["cognito_client_secret"],
        # The emulator publishes the pool's keys at its own address, not at Cognito's.
        "ITUBE__PLUGINS__AUTH_COGNITO__JWKS_URL": resources["cognito_jwks_url"],
        "S3_RAW_VIDEOS_BUCKET": resources["s3_raw_bucket"],
        "S3_PROCESSED_VIDEOS_BUCKET": resources["s3_processed_bucket"],
        "S3_VIDEO_THUMBNAILS_BUCKET": resources["s3_thumbnails_bucket"],
        "ITUBE_SERVICE_PRINCIPAL": f"arn:aws:sts::{ACCOUNT}:assumed-role/{TRANSCODER_ROLE}/*",
        "ITUBE_SERVICE_HOSTS": "127.0.0.1",
        "ITUBE__PLUGINS__INTERNAL_IAM__STS__ENDPOINT_URL": moto_endpoint,
        "ITUBE_TRUSTED_PROXIES": "127.0.0.1/32",
    }


def env_options(environment: dict[str, str]) -> list[str]:
    return [option for name, value in environment.items() for option in ("-e", f"{name}={value}")]


@pytest.fixture(scope="session")
def migrated(environment: dict[str, str]) -> None:
    """`itube migrate` in the image, once, as a release does before the new version starts."""
    done = docker("run", "--rm", "--network", "host", *env_options(environment), IMAGE,
                  "itube", "migrate", "--config", "config/production.toml", "forwards",
                  check=False, timeout=180)
    assert done.returncode == 0, f"migrate failed:\n{done.stdout}\n{done.stderr}"


class Container:
    """The API container, started detached with the image's own command."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.port = services.free_port()
        self.name = f"itube-image-test-{uuid.uuid4().hex[:10]}"
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = {**environment, "ITUBE__SERVER__HOST": "127.0.0.1",
                            "ITUBE__SERVER__PORT": str(self.port),
                            "ITUBE__SERVER__WORKERS": str(WORKERS)}
        docker("run", "-d", "--name", self.name, "--network", "host",
               *env_options(self.environment), IMAGE)

    def inspect(self) -> dict[str, Any]:
        return json.loads(docker("inspect", self.name).stdout)[0]

    def logs(self) -> str:
        done = docker("logs", self.name, check=False)
        return done.stdout + done.stderr

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if not self.inspect()["State"]["Running"]:
                pytest.fail(f"the container exited:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"not ready within {READY_SECONDS} s:\n{self.logs()}")

    def remove(self) -> None:
        docker("rm", "--force", self.name, check=False)


@pytest.fixture(scope="session")
def container(environment: dict[str, str], migrated: None) -> Iterator[Container]:
    running = Container(environment)
    try:
        running.wait_ready()
        yield running
    finally:
        running.remove()
