"""docker-compose.yml: valid for the compose CLI, every variable in .env.example, and its
emulator provisioning run for real in the image. (Its PostgreSQL, Redis and moto images
cannot be pulled here: the stack itself is not started.)"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.image.conftest import IMAGE, REGION, docker, needs_image

pytestmark = [needs_image, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROVISIONED = {"COGNITO_USER_POOL_ID", "COGNITO_CLIENT_ID", "COGNITO_CLIENT_SECRET",
               "ITUBE__PLUGINS__AUTH_COGNITO__JWKS_URL", "S3_RAW_VIDEOS_BUCKET",
               "S3_PROCESSED_VIDEOS_BUCKET", "S3_VIDEO_THUMBNAILS_BUCKET"}


def compose_command() -> list[str]:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    found = shutil.which("docker-compose")
    assert found, "no compose CLI: `make docker-ready` installs one"
    return [found]


def compose_config(*options: str) -> subprocess.CompletedProcess:
    """`compose config`: the file validated, its variables filled in from .env.example."""
    return subprocess.run([*compose_command(), "--env-file", str(ENV_EXAMPLE), "-f",
                           str(COMPOSE_FILE), "config", *options],
                          capture_output=True, text=True, timeout=60)


def compose() -> dict[str, Any]:
    done = compose_config()
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


def example_names() -> set[str]:
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z][A-Z0-9_]*=", line)}


def env_references(value: Any) -> set[str]:
    """The NAME of every `env:NAME` or `env:NAME|default` value in a parsed TOML file."""
    if isinstance(value, dict):
        return set().union(*(env_references(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(env_references(v) for v in value))
    if isinstance(value, str) and value.startswith("env:"):
        return {value[4:].split("|", 1)[0]}
    return set()


def test_the_compose_file_is_valid():
    done = compose_config("--quiet")
    assert done.returncode == 0, done.stderr
    services = compose()["services"]
    assert {"api", "migrate", "postgres", "redis", "aws", "aws-provision"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully")


def test_env_example_names_every_variable():
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    in_compose = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    production = tomllib.loads((ROOT / "config/production.toml").read_text(encoding="utf-8"))
    in_config = env_references(production)
    assert in_compose and in_config
    missing = (in_compose | in_config) - example_names()
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_production_accepts_the_api_settings():
    """The api service's environment, with what aws-provision writes, passes the production
    config's checks in the image (the stack cannot start here: its images are pulled)."""
    environment = {**compose()["services"]["api"]["environment"],
                   "COGNITO_USER_POOL_ID": "us-east-1_Example1", "COGNITO_CLIENT_ID": "client",
                   "COGNITO_CLIENT_SECRET": "secret",
                   "ITUBE__PLUGINS__AUTH_COGNITO__JWKS_URL":
                       "http://localhost:5000/us-east-1_Example1/.well-known/jwks.json",
                   "S3_RAW_VIDEOS_BUCKET": "raw", "S3_PROCESSED_VIDEOS_BUCKET": "processed",
                   "S3_VIDEO_THUMBNAILS_BUCKET": "thumbnails"}
    options = [part for name, value in environment.items()
               for part in ("-e", f"{name}={value}")]
    done = docker("run", "--rm", *options, IMAGE, "itube", "config", "check", "--config",
                  "config/production.toml", check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_provisioning_gives_what_the_api_reads(moto_endpoint: str, tmp_path: Path):
    service = compose()["services"]["aws-provision"]
    environment = {**service["environment"], "ITUBE__AWS__ENDPOINT_URL": moto_endpoint,
                   "REGION_NAME": REGION}
    options = [part for name, value in environment.items()
               for part in ("-e", f"{name}={value}")]
    done = docker("run", "--rm", "--network", "host", "--user", service["user"],
                  "-v", f"{tmp_path}:/provisioned", *options, IMAGE, *service["command"],
                  check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    written = dict(
        re.fullmatch(r"export ([A-Z0-9_]+)='([^']*)'", line).groups()  # type: ignore[union-attr]
        for line in (tmp_path / "aws.env").read_text().splitlines()
    )
    assert set(written) == PROVISIONED
    cognito = client("cognito-idp", moto_endpoint)
    pool = written["COGNITO_USER_POOL_ID"]
    app_client = cognito.describe_user_pool_client(
        UserPoolId=pool, ClientId=written["COGNITO_CLIENT_ID"])["UserPoolClient"]
    assert app_client["ClientSecret"] == written["COGNITO_CLIENT_SECRET"]
    assert written["ITUBE__PLUGINS__AUTH_COGNITO__JWKS_URL"] == (
        f"{moto_endpoint}/{pool}/.well-known/jwks.json")
    s3 = client("s3", moto_endpoint)
    cors = s3.get_bucket_cors(Bucket=written["S3_RAW_VIDEOS_BUCKET"])["CORSRules"][0]
    assert cors["AllowedOrigins"] == [service["environment"]["ITUBE_WEB_ORIGIN"]]
    assert "PUT" in cors["AllowedMethods"]
    for name in ("S3_PROCESSED_VIDEOS_BUCKET", "S3_VIDEO_THUMBNAILS_BUCKET"):
        s3.head_bucket(Bucket=written[name])
    client("sqs", moto_endpoint).get_queue_url(QueueName="itube-raw-video-events")


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
