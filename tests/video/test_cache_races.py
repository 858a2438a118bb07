"""A read that loaded a video (or the first list page) just before a status change, and
stores it just after the change's invalidation, must not leave the old state in the
cache: the next read sees the change. Run with the in-process cache and with Redis.

The store step of the racing read is held by a cache wrapper (a `cache_backend` hook
wrapper around whichever backend the app loads) until the change has been made."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio.to_thread
import pytest

from core.cache import Cache
from core.plugins import hookimpl
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import TRANSCODER, insert_video, user

ALICE = user("alice")
ANYONE = workflow.ANONYMOUS
WAIT = 10.0


class HoldsAStore:
    """Delegates to a cache; holds the next store of a rendered entry (a JSON object)
    whose key contains `pattern`, until `release` is set."""

    def __init__(self, inner: Cache) -> None:
        self.inner = inner
        self.name, self.shared = inner.name, inner.shared
        self.pattern: str | None = None
        self.holding, self.release = threading.Event(), threading.Event()

    def hold_next_store(self, pattern: str) -> None:
        self.pattern = pattern

    async def _maybe_hold(self, key: str, value: bytes) -> None:
        if self.pattern is not None and self.pattern in key and value.startswith(b"{"):
            self.pattern = None
            self.holding.set()
            await anyio.to_thread.run_sync(self.release.wait, WAIT)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        await self._maybe_hold(key, value)
        await self.inner.set(key, value, ttl)

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        await self._maybe_hold(key, value)
        return await self.inner.add(key, value, ttl)

    async def claim(self, keys: Sequence[str], ttl: float) -> list[bool]:
        return await self.inner.claim(keys, ttl)

    async def get(self, key: str) -> bytes | None:
        return await self.inner.get(key)

    async def delete(self, *keys: str) -> None:
        await self.inner.delete(*keys)

    async def incr(self, key: str, ttl: float) -> int:
        return await self.inner.incr(key, ttl)

    async def ttl(self, key: str) -> float | None:
        return await self.inner.ttl(key)

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


class HoldingCachePlugin:
    def __init__(self) -> None:
        self.cache: HoldsAStore | None = None

    @hookimpl(wrapper=True)
    def cache_backend(self, ctx: Any) -> Any:
        inner = yield
        self.cache = HoldsAStore(inner)
        return self.cache


@pytest.fixture(params=["memory", "redis"])
def racing(request, make_config, make_client) -> Iterator[tuple[Any, HoldsAStore]]:
    """An app with the video plugin on the in-process cache or Redis, and its wrapper."""
    plugins, sections = ["video"], {}
    if request.param == "redis":
        prefix = request.getfixturevalue("redis_prefix")
        plugins = ["cache_redis", "video"]
        sections = {"cache_redis": {"url": request.getfixturevalue("redis_url"),
                                    "key_prefix": prefix}}
    holding = HoldingCachePlugin()
    client = make_client(make_config(plugins, plugins=sections),
                         plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin(), holding])
    assert holding.cache is not None
    yield client, holding.cache
    holding.cache.release.set()  # never leave a request hanging


def change_while_a_read_is_held(client, cache: HoldsAStore, read, change) -> Any:
    """Start `read`, hold its store, make `change`, then let the store go on."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        racing_read = pool.submit(read)
        assert cache.holding.wait(WAIT), "the read never reached the cache"
        assert change().status_code == 200
        cache.release.set()
        return racing_read.result(WAIT)


def test_a_video_read_racing_its_hiding_is_not_cached_as_visible(racing):
    client, cache = racing
    video_id = insert_video(client, owner_id="alice", processing_status="COMPLETED")
    cache.hold_next_store(f"id:{video_id}")
    raced = change_while_a_read_is_held(
        client, cache,
        lambda: workflow.get_video(client, ANYONE, video_id),
        lambda: workflow.set_status(client, TRANSCODER, str(video_id), "IN_PROGRESS"),
    )
    assert raced.status_code == 200  # it read before the change: the old state is fine
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
    owners = workflow.get_video(client, ALICE, video_id).json()
    assert owners["processing_status"] == "IN_PROGRESS"


def test_a_video_read_racing_its_completion_is_not_cached_in_progress(racing):
    client, cache = racing
    video_id = insert_video(client, owner_id="alice", processing_status="IN_PROGRESS")
    cache.hold_next_store(f"id:{video_id}")
    raced = change_while_a_read_is_held(
        client, cache,
        lambda: workflow.get_video(client, ALICE, video_id),
        lambda: workflow.set_status(client, TRANSCODER, str(video_id), "COMPLETED"),
    )
    assert raced.json()["processing_status"] == "IN_PROGRESS"
    assert workflow.get_video(client, ALICE, video_id).json()["processing_status"] == "COMPLETED"
    assert workflow.get_video(client, ANYONE, video_id).status_code == 200


def public_ids(client, limit: int = 20) -> list[str]:
    return [video["id"] for video in workflow.list_public(client, ANYONE, limit=limit).json()]


def test_a_first_page_read_racing_a_change_is_not_served_afterwards(racing):
    client, cache = racing
    video_id = str(insert_video(client, processing_status="COMPLETED"))
    cache.hold_next_store("public:")
    raced = change_while_a_read_is_held(
        client, cache,
        lambda: public_ids(client),
        lambda: workflow.set_status(client, TRANSCODER, video_id, "IN_PROGRESS"),
    )
    assert raced == [video_id]
    assert public_ids(client) == []
    assert public_ids(client, limit=5) == []


def test_the_first_pages_follow_every_change_at_once(racing):
    client, _ = racing
    video_id = str(insert_video(client, processing_status="IN_PROGRESS"))
    for status, expected in [("COMPLETED", [video_id]), ("IN_PROGRESS", []),
                             ("COMPLETED", [video_id])]:
        public_ids(client), public_ids(client, limit=3)  # cached under this generation
        assert workflow.set_status(client, TRANSCODER, video_id, status).status_code == 200
        assert public_ids(client) == public_ids(client, limit=3) == expected
