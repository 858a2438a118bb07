"""Redis killed and restarted under a real server while requests flow: every request is
answered from the database meanwhile, and once Redis is back no request finds a pooled
connection that died with the old Redis (which used to open the breaker again)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.support import VIDEOS, wait_until

BREAKER_SECONDS = 0.5


def server_config(database_url: str, moto_endpoint: str, redis_url: str) -> str:
    return f"""
[app]
plugins = ["local_aws", "cache_redis", "video", "tests.support.stand_in_plugins"]

[database]
url = "{database_url}"
migrate_on_start = true

[logging]
level = "WARNING"
access_log = false

[plugins.local_aws]
endpoint_url = "{moto_endpoint}"

[plugins.cache_redis]
url = "{redis_url}"
key_prefix = "itube-faults"
breaker_open_seconds = {BREAKER_SECONDS}
"""


def flood(base_url: str, requests: int = 48, threads: int = 12) -> set[int]:
    """Concurrent reads of the public list (each asks Redis, then the database on a miss):
    many at once, so the server's pool holds many Redis connections."""
    with httpx.Client(base_url=base_url, timeout=30) as http, \
            ThreadPoolExecutor(max_workers=threads) as pool:
        return set(pool.map(lambda n: http.get(f"{VIDEOS}/?limit={1 + n % 6}").status_code,
                            range(requests)))


def readiness(base_url: str) -> str:
    return httpx.get(f"{base_url}/readyz", timeout=10).json()["status"]


@pytest.mark.slow
def test_after_a_redis_restart_no_request_reopens_the_breaker(
    sqlite_url, moto_endpoint, redis_server, start_server
):
    server = start_server(server_config(sqlite_url, moto_endpoint, redis_server.url))
    assert flood(server.url) == {200}

    redis_server.kill()
    assert flood(server.url) == {200}  # from the database
    assert readiness(server.url) == "degraded"

    redis_server.start()  # the same port, a fresh Redis
    assert wait_until(lambda: readiness(server.url) == "ok")
    # Log lines reach the file from the writer thread, a moment after they are logged.
    assert wait_until(lambda: "redis answers again; using it" in server.log_messages())
    seen = len(server.log_messages())
    for _ in range(4):
        assert flood(server.url) == {200}
    time.sleep(BREAKER_SECONDS * 2)  # a breaker opened again would probe by now
    assert flood(server.url) == {200}

    since_back = server.log_messages()[seen:]
    assert [m for m in since_back if "redis" in m] == []
    assert readiness(server.url) == "ok"
