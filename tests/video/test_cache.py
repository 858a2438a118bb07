"""Get-by-id and the first list page come from the cache when warm, are invalidated by
every change, and a failing cache never fails a request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.cache import CacheUnavailable
from core.plugins import hookimpl
from plugins.video.tables import Video
from tests.video import workflow
from tests.video.support import TRANSCODER, insert_video, run_in_app, user
from tests.video.transcoding import progress

ALICE, BOB = user("alice"), user("bob")
ANONYMOUS = workflow.ANONYMOUS


def _rename_behind_the_apps_back(client, video_id, title):
    run_in_app(client, lambda: Video.update({Video.title: title}).where(Video.id == video_id).run())


def _reprocess(client, video_id):
    for status in ("IN_PROGRESS", "COMPLETED"):
        assert workflow.set_status(client, TRANSCODER, str(video_id), status).status_code == 200


def test_get_by_id_is_served_from_the_cache_until_a_change(client):
    video_id = insert_video(client, title="Before")
    assert workflow.get_video(client, ANONYMOUS, video_id).json()["title"] == "Before"
    _rename_behind_the_apps_back(client, video_id, "After")
    assert workflow.get_video(client, ANONYMOUS, video_id).json()["title"] == "Before"
    _reprocess(client, video_id)
    assert workflow.get_video(client, ANONYMOUS, video_id).json()["title"] == "After"


def test_the_first_page_of_every_size_is_cached_and_invalidated(client):
    video_id = insert_video(client, title="Before")
    for limit in (20, 5):
        page = workflow.list_public(client, ANONYMOUS, limit=limit).json()
        assert [video["title"] for video in page] == ["Before"]
    _rename_behind_the_apps_back(client, video_id, "After")
    for limit in (20, 5):
        page = workflow.list_public(client, ANONYMOUS, limit=limit).json()
        assert [video["title"] for video in page] == ["Before"]
    _reprocess(client, video_id)
    for limit in (20, 5):
        page = workflow.list_public(client, ANONYMOUS, limit=limit).json()
        assert [video["title"] for video in page] == ["After"]


def test_a_completed_video_enters_the_cached_first_page(client):
    assert workflow.list_public(client, ANONYMOUS).json() == []
    key = workflow.upload(client, ALICE)
    video_id = workflow.register(client, ALICE, key).json()["id"]
    assert workflow.list_public(client, ANONYMOUS).json() == []
    workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")
    assert [video["id"] for video in workflow.list_public(client, ANONYMOUS).json()] == [video_id]
    workflow.set_status(client, TRANSCODER, video_id, "IN_PROGRESS")
    assert workflow.list_public(client, ANONYMOUS).json() == []


def test_a_cached_private_video_is_still_only_the_owners(client):
    video_id = insert_video(client, owner_id="alice", processing_status="IN_PROGRESS")
    assert workflow.get_video(client, ALICE, video_id).status_code == 200  # now cached
    assert workflow.get_video(client, BOB, video_id).status_code == 404
    assert workflow.get_video(client, ANONYMOUS, video_id).status_code == 404
    assert workflow.get_video(client, ALICE, video_id).status_code == 200


class UnavailableCache:
    """A cache whose store never answers."""

    name = "unavailable"
    shared = True

    def __init__(self) -> None:
        self.calls = 0

    def _fail(self, *args: Any) -> Any:
        self.calls += 1
        raise CacheUnavailable("store down")

    async def get(self, key: str) -> bytes | None:
        return self._fail()

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._fail()

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        return self._fail()

    async def claim(self, keys: Sequence[str], ttl: float) -> list[bool]:
        return self._fail()

    async def delete(self, *keys: str) -> None:
        self._fail()

    async def incr(self, key: str, ttl: float) -> int:
        return self._fail()

    async def ttl(self, key: str) -> float | None:
        return self._fail()

    async def ping(self) -> None:
        self._fail()

    async def close(self) -> None:
        return None


class UnavailableCachePlugin:
    def __init__(self) -> None:
        self.cache = UnavailableCache()

    @hookimpl
    def cache_backend(self, ctx: Any) -> UnavailableCache:
        return self.cache


def test_a_failing_cache_never_fails_a_request(make_video_client):
    plugin = UnavailableCachePlugin()
    client = make_video_client(plugins=[plugin])
    seen = workflow.run_workflow(client, ALICE, TRANSCODER)
    assert workflow.get_video(client, ANONYMOUS, seen["id"]).status_code == 200
    second = workflow.run_workflow(client, ALICE, TRANSCODER, form="json")
    listed = [video["id"] for video in workflow.list_public(client, ANONYMOUS).json()]
    assert listed == [second["id"], seen["id"]]
    assert plugin.cache.calls > 0  # the app really went through the failing cache
    assert client.get("/readyz").json()["status"] == "degraded"


def test_a_transcoder_at_work_keeps_the_cached_first_page(client):
    """Progress reports change only a video IN_PROGRESS, which no public page shows: the
    first pages (and relevance rankings) cached under the list generation stay."""
    listed = insert_video(client, title="Before")
    working = insert_video(client, title="Working", processing_status="IN_PROGRESS")

    def titles():
        return sorted(video["title"] for video in workflow.list_public(client, ANONYMOUS).json())

    assert titles() == ["Before"]
    _rename_behind_the_apps_back(client, listed, "After")
    assert progress(client, working, 50).status_code == 200
    assert titles() == ["Before"]
    assert workflow.set_status(client, TRANSCODER, str(working), "COMPLETED").status_code == 200
    assert titles() == ["After", "Working"]
