"""Relevance pages read from ranked results kept in the cache: the same pages as the
direct ranking, a hidden video never shown from them, the depth bound, a failing cache,
and cursors that outlive the results they came from; on both databases and both caches."""

from __future__ import annotations

import datetime as dt
import json
import random
import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from core.cache import CacheUnavailable
from core.db import engine_kind
from core.plugins import hookimpl
from plugins.video import ranking_statements
from plugins.video.ranked_results import (
    ENTRY,
    RankedList,
    _count_not_after,
    block_entry,
    ranked_list,
)
from plugins.video.search import DEFAULT_SEARCH_CONFIG, parse_query
from plugins.video.tables import Video
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import (
    TRANSCODER,
    follow_pages,
    insert_video,
    next_link,
    problem_fields,
    run_in_app,
    user,
    wait_until,
)
from tests.video.test_indexes import _assert_no_scan, _fill_and_analyze, _plan

ALICE = user("alice")
PUBLIC = "/api/v1/upload/videos/"
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


class SwitchableCache:
    """Passes every call to the app's cache, unless the test made it fail (`down`: the
    store does not answer) or lose the blocks of ranked results (`forgetful`: as an LRU
    store may evict them before their head)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name, self.shared = inner.name, inner.shared
        self.down = self.forgetful = False
        self.failed = self.forgotten = 0

    async def get(self, key: str) -> bytes | None:
        self._check()
        if self.forgetful and key.startswith("video:v1:ranked:") and key.count(":") > 3:
            self.forgotten += 1
            return None
        return await self.inner.get(key)

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._check()
        await self.inner.set(key, value, ttl)

    def _check(self) -> None:
        if self.down:
            self.failed += 1
            raise CacheUnavailable("store down")

    def __getattr__(self, name: str) -> Any:
        if self.down:
            raise CacheUnavailable("store down")
        return getattr(self.inner, name)


class SwitchableCachePlugin:
    def __init__(self) -> None:
        self.cache: SwitchableCache | None = None

    @hookimpl(wrapper=True)
    def cache_backend(self, ctx: Any) -> Any:
        inner = yield
        self.cache = SwitchableCache(inner)
        return self.cache


@pytest.fixture(params=["memory", "redis"])
def make_app(request, make_config, make_client) -> Callable[..., tuple[Any, SwitchableCache]]:
    """`make_app(settings)`: the video plugin on the in-process cache or on Redis (a key
    prefix of its own), on the parametrised database, and its switchable cache. One app
    per test: Piccolo binds one database per process."""

    def make(settings: dict[str, Any] | None = None) -> tuple[Any, SwitchableCache]:
        names, sections = ["video"], {"video": settings or {}}
        if request.param == "redis":
            names = ["cache_redis", "video"]
            sections["cache_redis"] = {"url": request.getfixturevalue("redis_url"),
                                       "key_prefix": request.getfixturevalue("redis_prefix")}
        switch = SwitchableCachePlugin()
        client = make_client(make_config(names, plugins=sections),
                             plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin(),
                                      switch])
        assert switch.cache is not None
        return client, switch.cache

    return make


def _direct(client, cache: SwitchableCache, **params: Any) -> list[str]:
    """Every page's ids while the cache does not answer: each page ranked in the database."""
    cache.down = True
    try:
        return _pages(client, **params)
    finally:
        cache.down = False


def _pages(client, **params: Any) -> list[str]:
    url = f"{PUBLIC}?{urllib.parse.urlencode(params)}"
    ids, _ = follow_pages(client, url, ALICE)
    return ids


def _page(client, **params: Any) -> Any:
    response = client.get(PUBLIC, params=params, **ALICE.request_options())
    assert response.status_code == 200, response.text
    return response


def _ids(response) -> list[str]:
    return [video["id"] for video in response.json()]


def _cursor(response) -> str:
    link = next_link(response)
    assert link is not None
    return urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["cursor"][0]


def _video(client, title: str, description: str = "", **fields: Any) -> str:
    return str(insert_video(client, title=title, description=description, **fields))


def _hide(client, video_id: str) -> None:
    """Make a video private behind the app's back: no invalidation tells the cache."""
    run_in_app(client, lambda: Video.update({Video.visibility: "PRIVATE"})
               .where(Video.id == uuid.UUID(video_id)).run())


def _publish(client, video_id: str) -> None:
    run_in_app(client, lambda: Video.update({Video.visibility: "PUBLIC"})
               .where(Video.id == uuid.UUID(video_id)).run())


def _library(client) -> None:
    """Matches of "lakes" at several scores, many tied, from two uploaders and four days."""
    texts = [("Lakes", "mountain lakes"), ("Lakes and lakes", "lakes"),
             ("Hiking", "by the lakes"), ("Lakes at dawn", "deserts too")]
    for index in range(24):
        title, description = texts[index % len(texts)]
        _video(client, title, description, owner_id="alice" if index % 3 else "bob",
               created_at=T0 + dt.timedelta(days=index % 4, minutes=index))
    _video(client, "Deserts", "dunes")


QUERIES = [
    {"q": "lakes"},
    {"q": "lakes", "user_id": "bob"},
    {"q": "lakes -hiking", "created_after": "2026-01-02T12:00:00Z"},
    {"q": "dawn or deserts", "created_before": "2026-01-05T00:00:00Z"},
    {"q": "lakes", "user_id": "alice", "created_after": "2026-01-02T00:00:00Z",
     "created_before": "2026-01-04T00:00:00Z"},
]


@pytest.mark.parametrize("limit", [2, 5])
def test_pages_are_the_direct_rankings_pages(make_app, limit):
    client, cache = make_app({"search_results_block_size": 3})
    _library(client)
    for params in QUERIES:
        expected = _direct(client, cache, limit=100, **params)
        assert expected, params
        found = _pages(client, limit=limit, **params)
        assert found == expected, params
        assert len(found) == len(set(found))


def test_the_ranking_is_kept_until_it_expires(make_app):
    client, _ = make_app({"search_results_ttl_seconds": 600})
    first = _video(client, "Meadow")
    assert _ids(_page(client, q="meadow")) == [first]
    later = _video(client, "Meadow meadow", "meadow")
    # inserted behind the app's back, so nothing drops the kept ranking: the new match waits
    assert _ids(_page(client, q="meadow")) == [first]
    assert _ids(_page(client, q="meadow", sort="newest")) == [later, first]
    # another search's ranking: made now
    assert set(_ids(_page(client, q="meadow", user_id="alice"))) == {later, first}


def _etag(client, video_id: str) -> str:
    return client.get(f"{PUBLIC}{video_id}", **ALICE.request_options()).headers["etag"]


def test_a_hidden_or_deleted_video_leaves_the_kept_pages_at_once(make_app):
    """Hidden behind the app's back, a video leaves the kept ranking's pages (which a
    newcomer inserted the same way proves still kept); deleted or edited out of the match
    through the app, it leaves the next ranking's."""
    client, cache = make_app({"search_results_ttl_seconds": 600,
                              "search_results_block_size": 4})
    for index in range(10):
        _video(client, "Canyon", created_at=T0 + dt.timedelta(minutes=index))
    everything = _pages(client, q="canyon", limit=100)
    first = _page(client, q="canyon", limit=3)
    assert _ids(first) == everything[:3]
    hidden, deleted, edited = everything[3], everything[5], everything[7]
    _hide(client, hidden)
    newcomer = _video(client, "Canyon", created_at=T0 - dt.timedelta(days=1))
    rest = _pages(client, q="canyon", limit=3, cursor=_cursor(first))
    assert rest == [video_id for video_id in everything[3:] if video_id != hidden]
    assert workflow.delete_video(client, ALICE, deleted).status_code == 204
    assert workflow.edit_video(client, ALICE, edited, if_match=_etag(client, edited),
                               title="Gorge").status_code == 200
    rest = _pages(client, q="canyon", limit=3, cursor=_cursor(first))
    now = _direct(client, cache, q="canyon", limit=100)
    assert newcomer in now and not {hidden, deleted, edited} & set(now)
    assert rest == now[now.index(_ids(first)[-1]) + 1:]


def _searched(client, cache: SwitchableCache, query: str) -> list[str]:
    """The relevance order of `query` through the kept ranking, checked against the
    database's own ranking now."""
    found = _pages(client, q=query, limit=100)
    assert found == _direct(client, cache, q=query, limit=100)
    return found


def test_a_change_that_makes_a_video_match_shows_on_the_next_request(make_app):
    """Created and completed, made public, edited to match: each through the app, and
    each in the relevance order of the very next request, long before the kept ranking
    would expire."""
    client, cache = make_app({"search_results_ttl_seconds": 600})
    kept = _video(client, "Orchard")
    private = _video(client, "Orchard orchard", "orchard", visibility="PRIVATE")
    unrelated = _video(client, "Vineyard")
    assert _searched(client, cache, "orchard") == [kept]
    registered = workflow.register(client, ALICE, workflow.upload(client, ALICE),
                                   title="Orchard", description="an orchard")
    assert registered.status_code == 201, registered.text
    created = registered.json()["id"]
    assert workflow.set_status(client, TRANSCODER, created, "COMPLETED").status_code == 200
    assert created in _searched(client, cache, "orchard")
    assert workflow.edit_video(client, ALICE, private, if_match=_etag(client, private),
                               visibility="PUBLIC").status_code == 200
    assert private in _searched(client, cache, "orchard")
    assert workflow.edit_video(client, ALICE, unrelated, if_match=_etag(client, unrelated),
                               title="Vineyard and orchard").status_code == 200
    assert set(_searched(client, cache, "orchard")) == {kept, created, private, unrelated}


def test_the_depth_bound(make_app):
    client, cache = make_app({"search_max_results": 5, "search_results_block_size": 2})
    for index in range(8):
        _video(client, "Glacier", created_at=T0 + dt.timedelta(minutes=index))
    everything = _direct(client, cache, q="glacier", limit=100)
    assert len(everything) == 8
    assert _pages(client, q="glacier", limit=2) == everything[:5]  # the last has no link
    cache.down = True
    beyond = _page(client, q="glacier", limit=6)
    cache.down = False
    refused = client.get(PUBLIC, params={"q": "glacier", "cursor": _cursor(beyond)},
                         **ALICE.request_options())
    assert refused.status_code == 422
    assert problem_fields(refused) == ["cursor"]
    assert "search_max_results" in refused.json()["errors"][0]["message"]


def test_a_failing_cache_ranks_each_page_in_the_database(make_app):
    client, cache = make_app()
    for index in range(5):
        _video(client, "Lagoon", created_at=T0 + dt.timedelta(minutes=index))
    assert len(set(_direct(client, cache, q="lagoon", limit=2))) == 5
    later = _video(client, "Lagoon lagoon", "lagoon")
    assert later in _direct(client, cache, q="lagoon")  # nothing was kept
    assert cache.failed > 0


def test_lost_blocks_rank_again(make_app):
    client, cache = make_app({"search_results_block_size": 2})
    _library(client)
    expected = _direct(client, cache, q="lakes", limit=100)
    assert _page(client, q="lakes", limit=3).status_code == 200  # ranked and kept
    cache.forgetful = True
    assert _pages(client, q="lakes", limit=3) == expected
    assert cache.forgotten > 0


def test_a_cursor_continues_after_the_ranking_expired(make_app):
    """Made public behind the app's back (no search statistics change, on either
    database): one video ranking first, one last. Neither is in the kept ranking; once it
    expired, the old cursor continues in the new one, which holds both."""
    client, cache = make_app({"search_results_ttl_seconds": 0.3})
    for index in range(4):
        _video(client, "Harbour", "boats", created_at=T0 + dt.timedelta(minutes=index))
    best = _video(client, "Harbour harbour", "harbour", visibility="PRIVATE")
    worst = _video(client, "Boats", "a harbour", visibility="PRIVATE")
    first = _page(client, q="harbour", limit=2)
    cursor = _cursor(first)
    _publish(client, best)
    _publish(client, worst)
    assert wait_until(lambda: _ids(_page(client, q="harbour", limit=2))[0] == best)
    everything = _direct(client, cache, q="harbour", limit=100)
    assert everything[0] == best and everything[-1] == worst
    after = everything[everything.index(_ids(first)[-1]) + 1:]
    assert _pages(client, q="harbour", limit=2, cursor=cursor) == after


# -- the list itself --------------------------------------------------------------------------


def _entries(count: int, seed: int) -> list[tuple[float, uuid.UUID]]:
    rng = random.Random(seed)
    scores = [rng.choice([0.1, 0.25, 0.5, 1.0 / 3]) for _ in range(count)]
    ids = [uuid.UUID(int=rng.getrandbits(128)) for _ in range(count)]
    return sorted(zip(scores, ids, strict=True), reverse=True)


def _linear_position(entries, score: float, video_id: uuid.UUID) -> int:
    return sum(1 for entry in entries if entry >= (score, video_id))


@pytest.mark.anyio
@pytest.mark.parametrize("block_size", [1, 3, 7, 50])
async def test_bisection_finds_every_position(block_size):
    entries = _entries(40, block_size)
    ranked: RankedList = ranked_list(entries, depth=40, block_size=block_size)
    probes = [*entries, (0.25, uuid.UUID(int=0)), (0.25, uuid.UUID(int=2**128 - 1)),
              (2.0, uuid.UUID(int=5)), (0.0, uuid.UUID(int=5)), (0.3, uuid.UUID(int=7))]
    for score, video_id in probes:
        assert await ranked.position_after(score, video_id) == _linear_position(
            entries, score, video_id)
    assert [(score, uuid.UUID(bytes=id_bytes)) for score, id_bytes
            in await ranked.entries(0, 100)] == entries


def test_a_list_cut_at_its_depth_says_so():
    entries = _entries(11, 1)
    assert ranked_list(entries, depth=10, block_size=4).complete is False
    assert ranked_list(entries[:10], depth=10, block_size=4).complete is True
    cut = ranked_list(entries, depth=10, block_size=4)
    assert cut.count == 10 and len(cut.blocks) == 3
    block = cut.blocks[2]
    assert _count_not_after(len(block) // ENTRY.size, lambda at: block_entry(block, at),
                            *block_entry(block, 0)) == 1



# -- the statements' plans --------------------------------------------------------------------


def test_the_ranking_reads_the_search_index_and_a_page_its_ids(make_app):
    """The ranking finds the public matches through their GIN index (the FTS5 table on
    SQLite); a page's rows are read through an index (by primary key, unless the planner
    knows the search or the uploader to be rarer), never by a scan."""
    client, _ = make_app()
    run_in_app(client, _fill_and_analyze)
    kind = run_in_app(client, _engine_kind)
    query = parse_query("t50")
    text = query.text if kind == "postgres" else query.fts5
    ranking = ranking_statements.ranking_statement(
        owner=False, created_after=False, created_before=False,
        search_config=DEFAULT_SEARCH_CONFIG)
    plan = run_in_app(client, lambda: _plan(ranking.statement, (text, 50_001)))
    _assert_no_scan(plan, kind, "ranking")
    assert ("videos_public_search_idx" if kind == "postgres"
            else "videos_search VIRTUAL TABLE") in plan, plan
    ids = [uuid.uuid4() for _ in range(21)]
    visible = ranking_statements.visible_statement(owner=True,
                                                   search_config=DEFAULT_SEARCH_CONFIG)
    among = ids if kind == "postgres" else json.dumps([str(video_id) for video_id in ids])
    values = {"ids": among, "owner_id": "user7", "q": text}
    plan = run_in_app(client, lambda: _plan(visible.statement,
                                            tuple(values[slot] for slot in visible.slots)))
    _assert_no_scan(plan, kind, "a page's rows")


async def _engine_kind() -> str:
    return engine_kind(Video._meta.db)
