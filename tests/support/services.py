"""The real servers the tests use: PostgreSQL, Redis and moto's AWS emulation.

When PostgreSQL or Redis does not answer, the run stops and says which one and how to
start it: those tests are never skipped silently.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid

import asyncpg
import pytest

POSTGRES_ADMIN_URL = os.environ.get("ITUBE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ITUBE_TEST_REDIS", "redis://127.0.0.1:6379/0")

POSTGRES_HINT = (
    "PostgreSQL is not reachable at {url} ({error}). Start it with:\n"
    "  pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
    "or point ITUBE_TEST_POSTGRES at a server where user postgres may create databases."
)
REDIS_HINT = (
    "Redis is not reachable at {url} ({error}). Start it with:\n"
    '  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no\n'
    "or point ITUBE_TEST_REDIS at a Redis server."
)


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def require_postgres() -> None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        pytest.exit(POSTGRES_HINT.format(url=POSTGRES_ADMIN_URL, error=exc), returncode=3)


def create_postgres_database() -> str:
    """A fresh, empty database; returns its URL."""
    name = f"itube_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    return _with_database(POSTGRES_ADMIN_URL, name)


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def require_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.exit(REDIS_HINT.format(url=REDIS_URL, error=exc), returncode=3)
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
