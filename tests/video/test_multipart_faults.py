"""Multipart uploads while S3 is black-holed (a proxy in front of the emulator): every
route that calls S3 answers 503 problem+json within the AWS bounds, the ledger is left as it
was, and everything works again once S3 answers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from core.app import create_app
from tests.faults.support import app_config, assert_unavailable, timed, upstream_of
from tests.support.proxy import FaultProxy
from tests.video.support import wait_until
from tests.video.test_multipart import PATH, SIZE

USER = {"X-Test-User": "alice"}
CONNECT, READ, ATTEMPTS = 0.5, 1.0, 2
AWS = {"connect_timeout_seconds": CONNECT, "read_timeout_seconds": READ,
       "max_attempts": ATTEMPTS, "readiness_cache_seconds": 0.0}
BOUND = ATTEMPTS * (CONNECT + READ)
MARGIN = 4.0


@pytest.fixture
def aws_proxy(moto_endpoint: str) -> Iterator[tuple[FaultProxy, str]]:
    with FaultProxy(*upstream_of(moto_endpoint)) as proxy:
        yield proxy, f"http://127.0.0.1:{proxy.port}"


def test_a_black_holed_s3_is_a_503_in_bounded_time_and_the_upload_survives(aws_proxy, db_url):
    proxy, endpoint = aws_proxy
    with TestClient(create_app(app_config(db_url, endpoint, ["video"], aws=AWS)),
                    raise_server_exceptions=False) as client:
        body = {"content_type": "video/mp4", "size_bytes": SIZE}
        created = client.post(PATH, json=body, headers=USER)
        assert created.status_code == 201, created.text
        upload_id = created.json()["upload_id"]

        proxy.black_hole()
        for call in (
            lambda: client.post(PATH, json=body, headers=USER),
            lambda: client.get(f"{PATH}/{upload_id}", headers=USER),
            lambda: client.post(f"{PATH}/{upload_id}/complete", headers=USER),
            lambda: client.delete(f"{PATH}/{upload_id}", headers=USER),
        ):
            response, elapsed = timed(call)
            assert_unavailable(response)
            assert elapsed < BOUND + MARGIN
        # What needs no S3 round trip answers at once: part URLs are signed locally
        response, elapsed = timed(client.post, f"{PATH}/{upload_id}/parts",
                                  json={"parts": [{"number": 2}]}, headers=USER)
        assert response.status_code == 200 and elapsed < MARGIN
        response, elapsed = timed(client.get, f"{PATH}/{uuid.uuid4()}", headers=USER)
        assert response.status_code == 404 and elapsed < MARGIN

        proxy.resume()
        assert wait_until(
            lambda: client.get(f"{PATH}/{upload_id}", headers=USER).status_code == 200)
        state = client.get(f"{PATH}/{upload_id}", headers=USER).json()
        assert state["state"] == "ACTIVE" and len(state["parts"]) == 2
        assert client.delete(f"{PATH}/{upload_id}", headers=USER).status_code == 204


def test_s3_refusing_connections_is_a_503_at_once_and_starts_nothing(aws_proxy, db_url):
    proxy, endpoint = aws_proxy
    with TestClient(create_app(app_config(db_url, endpoint, ["video"], aws=AWS)),
                    raise_server_exceptions=False) as client:
        body = {"content_type": "video/mp4", "size_bytes": SIZE}
        created = client.post(PATH, json=body, headers=USER)
        assert created.status_code == 201, created.text
        proxy.refuse()
        response, elapsed = timed(client.post, PATH, json=body, headers=USER)
        assert_unavailable(response)
        assert elapsed < MARGIN
        proxy.resume()
        assert wait_until(lambda: client.post(PATH, json=body, headers=USER).status_code == 201)
