"""Share links on two real uvicorn processes sharing one database: a revocation made
through one and an expiry are seen by both within a second (every open reads the row), and
concurrent opens on both never spend more views than the link has."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import httpx
import pytest
from piccolo.engine.sqlite import convert_datetime_in

from tests.support.server import UvicornProcess, shared_state_config, two_processes
from tests.video import workflow
from tests.video.shares.support import ALICE, shares_path
from tests.video.support import TRANSCODER, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis]

# How soon every process must refuse a link that stopped working.
AT_ONCE_SECONDS = 1.0


@pytest.fixture
def two_servers(tmp_path, db_url, moto_endpoint, redis_url, redis_prefix
                ) -> Iterator[tuple[UvicornProcess, UvicornProcess]]:
    config = tmp_path / "itube.toml"
    config.write_text(shared_state_config(
        database=db_url, moto=moto_endpoint, redis_url=redis_url, prefix=redis_prefix,
        extra='[plugins.video]\nshare_rate_limit = "off"\n'), encoding="utf-8")
    with two_processes(config, tmp_path) as servers:
        yield servers


def private_video(client: httpx.Client) -> str:
    key = workflow.upload(client, ALICE)
    video = workflow.register(client, ALICE, key, visibility="PRIVATE").json()
    assert workflow.set_status(client, TRANSCODER, video["id"], "COMPLETED").status_code == 200
    video_id: str = video["id"]
    return video_id


def make_share(client: httpx.Client, video_id: str, **body: object) -> dict:
    response = client.post(shares_path(video_id), json={"expires_in": 3600, **body},
                           **ALICE.request_options())
    assert response.status_code == 201, response.text
    share: dict = response.json()
    return share


def refused_by_all(clients: list[httpx.Client], url: str) -> bool:
    return all(client.get(url).status_code == 404 for client in clients)


def set_expiry(db_url: str, share_id: str, when: dt.datetime) -> None:
    """Write the link's expiry straight into the database, as Piccolo stores it."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as connection:
            connection.execute("UPDATE video_shares SET expires_at = ? WHERE id = ?",
                               (convert_datetime_in(when), share_id))
        return

    async def update() -> None:
        connection = await asyncpg.connect(db_url)
        try:
            await connection.execute("UPDATE video_shares SET expires_at = $1 WHERE id = $2",
                                     when, uuid.UUID(share_id))
        finally:
            await connection.close()

    asyncio.run(update())


def test_a_revoked_link_is_refused_by_every_process_within_a_second(two_servers):
    first, second = two_servers
    with httpx.Client(base_url=first.url, timeout=10) as a, \
            httpx.Client(base_url=second.url, timeout=10) as b:
        video_id = private_video(a)
        share = make_share(a, video_id)
        assert [a.get(share["url"]).status_code, b.get(share["url"]).status_code] == [200, 200]
        assert b.delete(f"{shares_path(video_id)}/{share['id']}",
                        **ALICE.request_options()).status_code == 204
        started = time.monotonic()
        assert wait_until(lambda: refused_by_all([a, b], share["url"]), timeout=AT_ONCE_SECONDS)
        assert time.monotonic() - started < AT_ONCE_SECONDS


def test_an_expired_link_is_refused_by_every_process_within_a_second(two_servers, db_url):
    first, second = two_servers
    with httpx.Client(base_url=first.url, timeout=10) as a, \
            httpx.Client(base_url=second.url, timeout=10) as b:
        share = make_share(a, private_video(a))
        expiry = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)
        set_expiry(db_url, share["id"], expiry)
        assert [a.get(share["url"]).status_code, b.get(share["url"]).status_code] == [200, 200]
        assert wait_until(lambda: refused_by_all([a, b], share["url"]), timeout=5)
        refused_after = dt.datetime.now(dt.UTC) - expiry
        assert refused_after < dt.timedelta(seconds=AT_ONCE_SECONDS), refused_after


def test_concurrent_last_views_on_two_processes_never_overspend(two_servers):
    first, second = two_servers
    views, requests = 5, 40
    with httpx.Client(base_url=first.url, timeout=10) as a:
        video_id = private_video(a)
        share = make_share(a, video_id, max_views=views)
    start = threading.Barrier(requests)

    def open_once(index: int) -> int:
        server = (first, second)[index % 2]
        with httpx.Client(base_url=server.url, timeout=20) as client:
            start.wait()
            return client.get(share["url"]).status_code

    with ThreadPoolExecutor(max_workers=requests) as pool:
        statuses = list(pool.map(open_once, range(requests)))
    assert sorted(statuses) == [200] * views + [404] * (requests - views)
    with httpx.Client(base_url=second.url, timeout=10) as b:
        [listed] = b.get(shares_path(video_id), **ALICE.request_options()).json()
    assert (listed["views"], listed["state"]) == (views, "used_up")
