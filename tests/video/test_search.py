"""Full-text search on the listings (`?q=`): what matches, in which order, page after page,
on both databases."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from core.cli import main
from core.db import engine_kind
from core.errors import ConfigError
from plugins.video.config import VideoSettings, settings_problems
from plugins.video.search import parse_query
from plugins.video.tables import Video
from tests.video import workflow
from tests.video.support import (
    TRANSCODER,
    command_config,
    follow_pages,
    insert_video,
    next_link,
    problem_fields,
    run_in_app,
    user,
)

ALICE, BOB = user("alice"), user("bob")
ANONYMOUS = workflow.ANONYMOUS
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
PUBLIC, MINE = "/api/v1/upload/videos/", "/api/v1/upload/videos/mine"
ALICES = "/api/v1/users/alice/videos"
LISTINGS = [PUBLIC, MINE, ALICES]


def _ids(client, path, viewer=ALICE, **params) -> list[str]:
    response = client.get(path, params=params, **viewer.request_options())
    assert response.status_code == 200, response.text
    return [video["id"] for video in response.json()]


def _found(client, q, path=PUBLIC, **params) -> list[str]:
    return _ids(client, path, q=q, **params)


def _follow(client, url, viewer=ALICE):
    return follow_pages(client, url, viewer)


def _video(client, title, description="", **fields) -> str:
    return str(insert_video(client, title=title, description=description, **fields))


def _is_postgres(client) -> bool:
    return run_in_app(client, lambda: _kind()) == "postgres"


async def _kind() -> str:
    return engine_kind(Video._meta.db)


@pytest.mark.parametrize("path", LISTINGS)
def test_words_match_in_title_and_description(client, path):
    in_title = _video(client, "Cats on a piano")
    in_description = _video(client, "Sunday", "two cats and a dog")
    _video(client, "Dogs only", "no felines here")
    assert sorted(_found(client, "cats", path)) == sorted([in_title, in_description])
    assert _found(client, "piano", path) == [in_title]
    assert _found(client, "CATS DOG", path) == [in_description]  # every word, any case
    assert _found(client, "walrus", path) == []


def test_a_title_match_ranks_above_a_description_match(client):
    in_description = _video(client, "Sunday", "a documentary about volcanoes",
                             created_at=T0 + dt.timedelta(hours=1))
    in_title = _video(client, "Volcanoes", "a documentary", created_at=T0)
    assert _found(client, "volcanoes") == [in_title, in_description]
    assert _found(client, "volcanoes", sort="relevance") == [in_title, in_description]
    assert _found(client, "volcanoes", sort="newest") == [in_description, in_title]


def test_words_are_stemmed_in_english(client):
    """Both engines stem English words: PostgreSQL with its "english" configuration (the
    default), SQLite with FTS5's porter tokenizer."""
    running = _video(client, "Running in the rain")
    assert _found(client, "runs") == [running]
    assert _found(client, "run") == [running]


def test_phrases_exclusions_and_or(client):
    red_car = _video(client, "red car", "parked")
    car_red = _video(client, "car painted red")
    blue = _video(client, "blue boat")
    assert _found(client, '"red car"') == [red_car]
    assert sorted(_found(client, "red car")) == sorted([red_car, car_red])
    assert _found(client, "red -painted") == [red_car]
    assert _found(client, 'car -"red car"') == [car_red]
    assert sorted(_found(client, "boat or parked")) == sorted([blue, red_car])
    assert sorted(_found(client, "BOAT OR painted")) == sorted([blue, car_red])
    assert _found(client, '"red car') == [red_car]  # an unclosed quote runs to the end


HOSTILE = [
    '"', '""', "'", "(", ")", "(cats", "cats)", "*", "cats*", "NEAR(cats dog)", "cats NEAR dog",
    "title:cats", ":", "cats:*", "^cats", "cats AND", "OR", "or cats", "cats or", "NOT cats",
    "-", "--cats", "cats & dog | !bird", "<->", "'; DROP TABLE videos; --",
    "1' OR '1'='1", "\\", "%", "_", "cats\u0000dog", "猫", "ünïcödé", "😺 cats", "\u200b",
    "a" * 200, "x " * 100, "{cats}", "[cats]", "+cats", "~cats", "cats@dog.com", "\"cats\" -",
]


@pytest.mark.parametrize("path", LISTINGS)
def test_hostile_input_is_never_a_500(client, path):
    cats = _video(client, "Cats (and dogs): a study*", "NEAR the end")
    for q in HOSTILE:
        for sort in ("relevance", "newest", "title"):
            response = client.get(path, params={"q": q, "sort": sort}, **ALICE.request_options())
            assert response.status_code in (200, 422), (q, response.text)
            if response.status_code == 422:
                assert problem_fields(response) == ["q"], q
    assert _found(client, "(cats", path) == [cats]
    assert _found(client, "cats*", path) == [cats]
    assert _found(client, "cats NEAR", path) == [cats]
    assert _found(client, "猫", path) == []


@pytest.mark.parametrize("q", ["", "   ", "\t", "-cats", '-"cats dogs"', "*", "()", "or",
                               "a" * 201])
def test_a_query_without_a_word_to_look_for_is_a_422_naming_q(client, q):
    assert problem_fields(client.get(PUBLIC, params={"q": q})) == ["q"]


def test_relevance_needs_a_query(client):
    assert problem_fields(client.get(PUBLIC, params={"sort": "relevance"})) == ["sort"]


def test_relevance_pages_through_ties_without_a_duplicate_or_a_gap(client):
    same = {_video(client, "Lakes", "mountain lakes") for _ in range(7)}
    better = {_video(client, "Lakes and lakes", "lakes") for _ in range(3)}
    worse = {_video(client, "Hiking", "by the lakes") for _ in range(4)}
    _video(client, "Deserts")
    ids, pages = _follow(client, f"{PUBLIC}?q=lakes&limit=3")
    assert len(ids) == len(set(ids)) == 14 and pages == 5
    assert set(ids[:3]) == better and set(ids[3:10]) == same and set(ids[10:]) == worse
    # ties in score are in id order (descending, as the score)
    assert ids[3:10] == sorted(same, reverse=True)


@pytest.mark.parametrize("sort", ["newest", "oldest", "title", "relevance"])
@pytest.mark.parametrize("path", LISTINGS)
def test_every_sort_pages_through_the_matches(client, path, sort):
    matching = {_video(client, f"Clip {index % 3}", "alpine skiing",
                       created_at=T0 + dt.timedelta(minutes=index // 2)) for index in range(9)}
    _video(client, "Clip 1", "surfing")
    ids, pages = _follow(client, f"{path}?q=skiing&sort={sort}&limit=2")
    assert len(ids) == len(set(ids)) and set(ids) == matching and pages == 5


def test_the_link_header_keeps_the_query(client):
    for _ in range(3):
        _video(client, "Rivers")
    response = client.get(PUBLIC, params={"q": 'rivers -"dry bed"', "limit": 2})
    link = next_link(response)
    assert link is not None
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    assert query["q"] == ['rivers -"dry bed"']


def test_a_cursor_belongs_to_its_query(client):
    for _ in range(3):
        _video(client, "Forests", "and rivers")
    link = next_link(client.get(PUBLIC, params={"q": "forests", "limit": 2}))
    cursor = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["cursor"][0]
    # the same query, written otherwise, is the same query
    assert client.get(PUBLIC, params={"q": "  FORESTS ", "cursor": cursor}).status_code == 200
    other = client.get(PUBLIC, params={"q": "rivers", "cursor": cursor})
    assert problem_fields(other) == ["cursor"]
    assert "another q" in other.json()["errors"][0]["message"]
    assert problem_fields(client.get(PUBLIC, params={"cursor": cursor})) == ["cursor"]


def test_the_query_combines_with_the_uploader_and_dates(client):
    hours = {hour: _video(client, "Harbour", owner_id="alice" if hour % 2 else "bob",
                          created_at=T0 + dt.timedelta(hours=hour)) for hour in range(4)}
    _video(client, "Airport", owner_id="alice", created_at=T0 + dt.timedelta(hours=1))
    assert _found(client, "harbour", user_id="alice", sort="newest") == [hours[3], hours[1]]
    assert _found(client, "harbour", ALICES, sort="oldest") == [hours[1], hours[3]]
    assert _found(client, "harbour", sort="oldest", created_after="2026-01-01T13:00:00Z",
                  created_before="2026-01-01T15:00:00Z") == [hours[1], hours[2]]
    assert _found(client, "harbour", MINE, created_before="2026-01-01T14:00:00Z") == [
        hours[1]]


def test_only_the_owner_finds_private_and_unfinished_videos(client):
    shown = _video(client, "Glacier", owner_id="alice")
    hidden = {_video(client, "Glacier", owner_id="alice", visibility=visibility,
                     processing_status=status)
              for visibility, status in [("PRIVATE", "COMPLETED"), ("UNLISTED", "COMPLETED"),
                                         ("PUBLIC", "IN_PROGRESS"), ("PUBLIC", "FAILED")]}
    for path in (PUBLIC, ALICES):
        assert _ids(client, path, ANONYMOUS, q="glacier") == [shown]
        assert _ids(client, path, ALICE, q="glacier") == [shown]
    assert set(_ids(client, MINE, ALICE, q="glacier")) == hidden | {shown}
    assert _ids(client, MINE, BOB, q="glacier") == []


def test_an_edited_title_is_found_under_its_new_words(client):
    video_id = _video(client, "Old name", "unchanged words")
    etag = client.get(f"{PUBLIC}{video_id}", **ALICE.request_options()).headers["etag"]
    edited = workflow.edit_video(client, ALICE, video_id, if_match=etag, title="Brand new")
    assert edited.status_code == 200, edited.text
    assert _found(client, "brand") == [video_id]
    assert _found(client, "old") == []
    assert _found(client, "unchanged") == [video_id]


def test_a_status_change_keeps_the_video_found(client):
    video_id = _video(client, "Waterfall", processing_status="IN_PROGRESS")
    # newest first: a relevance search would keep its (empty) ranking for a while
    assert _found(client, "waterfall", sort="newest") == []
    response = client.patch(f"{PUBLIC}{video_id}/status", params={"status": "COMPLETED"},
                            **TRANSCODER.request_options())
    assert response.status_code == 200, response.text
    assert _found(client, "waterfall") == [video_id]


def test_a_deleted_video_is_no_longer_found(client):
    kept = _video(client, "Canyon")
    deleted = _video(client, "Canyon")
    assert workflow.delete_video(client, ALICE, deleted).status_code == 204
    assert _found(client, "canyon") == [kept]
    assert _found(client, "canyon", MINE) == [kept]


def test_stop_words_are_engine_specific(client):
    """PostgreSQL's "english" configuration drops stop words ("the" alone matches nothing);
    SQLite's FTS5 has none."""
    video_id = _video(client, "The end")
    expected = [] if _is_postgres(client) else [video_id]
    assert _found(client, "the") == expected
    assert _found(client, "the end") == [video_id]


def test_only_the_relevance_ranking_is_kept(client):
    """A relevance search keeps its ranking (test_ranked_results.py); pages in the other
    orders are read afresh."""
    video_id = _video(client, "Meadow")
    assert _found(client, "meadow") == [video_id]
    second = _video(client, "Meadow", created_at=dt.datetime.now(dt.UTC) + dt.timedelta(1))
    assert _found(client, "meadow", sort="newest") == [second, video_id]
    assert _found(client, "meadow") == [video_id]


def test_the_query_is_normalised_term_by_term():
    query = parse_query('Cats  "Big  DOGS" -mice OR (birds) -"x y" or -z')
    assert query.text == '"cats" "big dogs" -"mice" or "birds" -"x y"'
    assert query.fts5 == '(("cats" AND "big dogs") NOT "mice") OR (("birds") NOT "x y")'
    assert parse_query("cats").digest == parse_query("  CATS ").digest
    assert parse_query("cats").digest != parse_query("dogs").digest


def _reindex(db_url, moto_endpoint, tmp_path, search_config) -> int:
    """`itube videos reindex-search` with `search_config` on the test's database."""
    path = command_config(tmp_path / "search.toml", db_url, moto_endpoint,
                          video=f'search_config = "{search_config}"')
    return main(["videos", "reindex-search", "--config", str(path)])


def test_a_changed_configuration_takes_effect_after_a_reindex(
        client, make_video_client, db_url, moto_endpoint, tmp_path, capsys):
    """PostgreSQL builds the search column with one configuration: start-up refuses
    another until `itube videos reindex-search` generated the column anew. SQLite's table
    does not depend on the setting: the command rebuilds it as it was."""
    running = _video(client, "Running late")
    assert _found(client, "runs") == [running]
    if not _is_postgres(client):
        assert _reindex(db_url, moto_endpoint, tmp_path, "simple") == 0
        assert capsys.readouterr().out.strip() == "videos_search rebuilt"
        assert _found(make_video_client(settings={"search_config": "simple"}), "runs") == [
            running]
        return
    with pytest.raises(ConfigError, match="built with english; run `itube videos reindex"):
        make_video_client(settings={"search_config": "simple"})
    with pytest.raises(ConfigError, match="'klingon' is not in pg_ts_config"):
        make_video_client(settings={"search_config": "klingon"})
    assert _reindex(db_url, moto_endpoint, tmp_path, "klingon") == 2
    assert "'klingon' is not in pg_ts_config" in capsys.readouterr().err
    assert _reindex(db_url, moto_endpoint, tmp_path, "simple") == 0
    assert capsys.readouterr().out.strip() == "search_vector generated with simple"
    simple = make_video_client(settings={"search_config": "simple"})
    assert _found(simple, "running") == [running]
    assert _found(simple, "runs") == []  # "simple" does not stem
    with pytest.raises(ConfigError, match="built with simple"):
        make_video_client()


def test_the_configuration_must_be_a_name():
    problems = settings_problems(VideoSettings(search_config="english'; --"))
    assert problems == ["plugins.video.search_config: not a text-search configuration's "
                        "name (such as english or simple)"]
