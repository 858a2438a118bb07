"""Several worker processes serve the whole video workflow: `itube serve` with
`[server] workers = 2`, sharing PostgreSQL and Redis, as the production config runs."""

from __future__ import annotations

import re

import httpx
import pytest

from plugins.internal_token.client import HmacTokenSigner
from tests.video import workflow
from tests.video.workflow import Credentials

SERVICE_SECRET = "s" * 40
PASSWORD = "SecurePass123!"


def workers_toml(moto_endpoint: str, redis_url: str, redis_prefix: str) -> str:
    return f"""
[plugins.local_aws]
endpoint_url = "{moto_endpoint}"

[plugins.auth_local]
secure_cookies = false
argon2_time_cost = 1
argon2_memory_kib = 1024
argon2_parallelism = 1

[plugins.internal_token]
keys = {{ transcoder = "{SERVICE_SECRET}" }}
allowed_principals = ["transcoder"]
expected_hosts = ["127.0.0.1"]

[plugins.cache_redis]
url = "{redis_url}"
key_prefix = "{redis_prefix}"
socket_timeout_seconds = 2.0
connect_timeout_seconds = 2.0
"""


def signed_in(api: httpx.Client) -> Credentials:
    account = {"name": "Ada", "email": "ada@example.com", "password": PASSWORD}
    assert api.post("/api/v1/auth/register", json=account).status_code == 201
    login = api.post("/api/v1/auth/login", json={"email": account["email"],
                                                 "password": PASSWORD})
    assert login.status_code == 200, login.text
    api.cookies.clear()  # each request below says who it is (or that it is anonymous)
    return Credentials(cookies={"access_token": login.cookies["access_token"]})


def test_two_workers_serve_the_video_workflow(serve, postgres_url, redis_url, redis_prefix,
                                              moto_endpoint, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ITUBE__DATABASE__URL", postgres_url)
    served = serve(workers_toml(moto_endpoint, redis_url, redis_prefix), server="workers = 2",
                   plugins=["local_aws", "auth_local", "internal_token", "cache_redis",
                            "video"])
    served.wait_ready()
    with httpx.Client(base_url=served.url(""), timeout=20) as api:
        user = signed_in(api)
        service = Credentials(auth=HmacTokenSigner("transcoder", SERVICE_SECRET))
        for _ in range(3):  # several rounds: the requests spread over both workers
            seen = workflow.run_workflow(api, user, service)
            assert seen["processing_status"] == "COMPLETED"
    workers = set(re.findall(r"Started server process \[(\d+)\]", served.log_text()))
    assert len(workers) == 2, served.log_text()
    code, _ = served.stop()
    assert code == 0, served.log_text()
