"""The servers of the load table: itube under each configuration a row needs, and the
bare baseline app, all against the same PostgreSQL, Redis and moto server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import attrs

from bench.processes import SERVER_CPU, itube_command, uvicorn_command

POOL_MAX_SIZE = 10  # itube's default [database] pool_max_size; the baseline pool matches
SIGV4_KEY_ID = "AKIAITUBEBENCHSIGNER"
SIGV4_SECRET = "itube-bench-signing-secret"
SIGV4_REGION = "us-east-1"
PRINCIPAL = "transcoder"
# How often the servers write the views they counted. Under the default (10 s) an uncached
# walk's views were written after it, inside the next target's measured seconds (the
# deep page read 0.45-0.63x after the walk and 0.86-0.90x before it, 12-06 02:02); each
# second, they are written within the walk, or within the next target's warm-up.
VIEWS_WRITTEN_EACH_SECOND = "\n[plugins.video]\nview_flush_seconds = 1\n"


@attrs.frozen
class Itube:
    """One itube server: its user-auth provider, cache, access log, workers and CPUs."""

    name: str
    auth: str = "auth_cognito"
    redis: bool = False
    access_log: bool = False
    workers: int = 1
    cpus: str = SERVER_CPU
    small: bool = False  # against the small database (the O(1) rows)

    @property
    def plugins(self) -> list[str]:
        return ["local_aws", self.auth, "internal_iam", "video",
                *(["cache_redis"] if self.redis else [])]


SERVERS = [
    Itube("cognito"),
    Itube("cognito, access log on", access_log=True),
    Itube("auth_local", auth="auth_local"),
    Itube("cache_redis", redis=True),
    Itube("cache_redis, 2 workers on core 0", redis=True, workers=2),
    Itube("cache_redis, 2 workers on cores 0-1", redis=True, workers=2, cpus="0,1"),
    Itube("cognito, small database", small=True),
]
BASELINE = "baseline"


@attrs.frozen
class Backends:
    """Where the servers find their data and AWS."""

    database: str
    redis_url: str
    redis_prefix: str
    aws_endpoint: str


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def itube_config(server: Itube, backends: Backends) -> str:
    text = f"""
[app]
plugins = {_toml_list(server.plugins)}
environment = "development"

[database]
url = "{backends.database}"
migrate_on_start = true
pool_max_size = {POOL_MAX_SIZE}

[logging]
level = "INFO"
access_log = {str(server.access_log).lower()}

[plugins.local_aws]
endpoint_url = "{backends.aws_endpoint}"

[plugins.internal_iam]
mode = "static"
allowed_principals = ["{PRINCIPAL}"]
expected_hosts = ["127.0.0.1"]

[plugins.internal_iam.keys.{SIGV4_KEY_ID}]
secret_access_key = "{SIGV4_SECRET}"
principal = "{PRINCIPAL}"

[plugins.{server.auth}]
secure_cookies = false
"""
    if server.redis:
        text += (f'\n[plugins.cache_redis]\nurl = "{backends.redis_url}"\n'
                 f'key_prefix = "{_redis_prefix(server, backends)}"\n')
    return text


def _redis_prefix(server: Itube, backends: Backends) -> str:
    """Each server its own keys, so none finds another's cached entries."""
    return f"{backends.redis_prefix}-{SERVERS.index(server)}"


def itube_launch(server: Itube, backends: Backends,
                 folder: Path) -> tuple[Callable[[int], list[str]], dict[str, str]]:
    """The command (given a port) and environment that start `server`."""
    slug = str(SERVERS.index(server))
    config = folder / f"itube-{slug}.toml"
    config.write_text(itube_config(server, backends) + VIEWS_WRITTEN_EACH_SECOND,
                      encoding="utf-8")
    return (lambda port: itube_command(config, port, server.workers)), {}


def baseline_launch(backends: Backends, body_file: Path, redis_key: str,
                    small_database: str = "",
                    ) -> tuple[Callable[[int], list[str]], dict[str, str]]:
    """The command (given a port) and environment of the bare baseline; `small_database`:
    where its `/small/page` reads, if anywhere."""
    env = {"ITUBE_BENCH_BODY_FILE": str(body_file),
           "ITUBE_BENCH_DATABASE_URL": backends.database,
           "ITUBE_BENCH_SMALL_DATABASE_URL": small_database,
           "ITUBE_BENCH_DATABASE_POOL": str(POOL_MAX_SIZE),
           "ITUBE_BENCH_REDIS_URL": backends.redis_url, "ITUBE_BENCH_REDIS_KEY": redis_key,
           "ITUBE_BENCH_S3_ENDPOINT": backends.aws_endpoint,
           "ITUBE_BENCH_SIGV4_KEY_ID": SIGV4_KEY_ID, "ITUBE_BENCH_SIGV4_SECRET": SIGV4_SECRET}
    return (lambda port: uvicorn_command("bench.baseline_app:create_app", port,
                                         factory=True)), env
