"""The pure parts of the library table: its searchable text, the deep pages' cursors and
the queries finding them, the walks' scripts, and rows that name only its own targets."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

import pytest

from bench.library_data import (
    DESCRIPTION_WORDS,
    TITLE_WORDS,
    VOCABULARY,
    cursor_of,
    nth_row_query,
    owned_rows,
    searchable_text,
    text_source,
)
from bench.library_scenarios import metadata_body, read_targets, rows, write_targets
from bench.seeding import COLUMNS, default_text, video_rows
from bench.wrk import walk_script
from plugins.video.pagination import Cursor, Sort
from plugins.video.search import parse_query

VIDEO = uuid.UUID("6f1c1b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b")


def test_searchable_text_draws_its_words_from_the_vocabulary():
    title, description = searchable_text(random.Random(1))
    words = [word.lower().rstrip(".") for word in f"{title} {description}".split()]
    assert len(words) == TITLE_WORDS + DESCRIPTION_WORDS
    assert set(words) <= set(VOCABULARY) and len(set(VOCABULARY)) == len(VOCABULARY)


def test_the_searchable_text_leaves_the_seeded_rows_alone():
    plain, searchable = [], []
    default = list(video_rows(50, plain))
    texts = list(video_rows(50, searchable, text_source()))
    assert plain == searchable
    created = COLUMNS.index("created_at")
    for before, after in zip(default, texts, strict=True):
        # the same rows but for the text (the times count from now)
        assert before[:2] == after[:2] and before[4:created] == after[4:created]
        assert before[2:4] != after[2:4]
    assert [row[created] - texts[0][created] for row in texts] == [
        row[created] - default[0][created] for row in default]
    assert default[3][2:4] == default_text(3)


def test_the_owners_videos_are_unlisted_under_the_owners_prefix_before_every_other():
    ids = [uuid.uuid4(), uuid.uuid4()]
    before = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    found = [dict(zip(COLUMNS, row, strict=True)) for row in owned_rows("sub-1", ids, before)]
    assert [row["id"] for row in found] == ids
    assert {row["visibility"] for row in found} == {"UNLISTED"}
    assert found[0]["video_s3_key"] == f"videos/sub-1/{ids[0]}"
    assert found[0]["created_at"] < found[1]["created_at"] < before
    assert {row["version"] for row in found} == {1}


@pytest.mark.parametrize("sort", [Sort.NEWEST, Sort.OLDEST, Sort.TITLE])
def test_a_computed_cursor_is_the_one_the_listing_decodes(sort):
    key = {Sort.TITLE: "Harbour sunset"}.get(sort, dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC))
    cursor = Cursor.decode(cursor_of(sort, key, VIDEO, None))
    assert (cursor.sort, cursor.id, cursor.key) == (sort, VIDEO, key)


def test_a_relevance_cursor_names_the_search_and_keeps_the_score_exactly():
    score = 0.10000000149011612
    cursor = Cursor.decode(cursor_of(Sort.RELEVANCE, score, VIDEO, "Harbour"))
    assert (cursor.score, cursor.search) == (score, parse_query("harbour").digest)
    with pytest.raises(ValueError, match="needs the search"):
        cursor_of(Sort.RELEVANCE, score, VIDEO, None)


def test_the_nth_row_queries_order_as_the_listing_does():
    newest = nth_row_query(Sort.NEWEST, searching=False)
    assert "ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1" in newest
    assert "visibility = 'PUBLIC' AND processing_status = 'COMPLETED'" in newest
    assert "$2" not in newest
    assert "ORDER BY title ASC, id ASC" in nth_row_query(Sort.TITLE, searching=False)
    searched = nth_row_query(Sort.NEWEST, searching=True)
    assert "search_vector @@ websearch_to_tsquery('english', $2)" in searched
    relevance = nth_row_query(Sort.RELEVANCE, searching=True)
    assert "ts_rank_cd(search_vector, websearch_to_tsquery('english', $2))::float8 AS key" \
        in relevance
    assert relevance.endswith("DESC, id DESC OFFSET $1 LIMIT 1")


def test_a_walk_script_sends_each_path_with_its_method_and_body(tmp_path):
    script = walk_script(tmp_path, "edits", ["/v/a", "/v/b"], "PATCH", ['{"t":"a"}', '{"t":"b"}'])
    text = script.read_text()
    assert 'wrk.format("PATCH", paths[index], nil, bodies[index])' in text
    assert (tmp_path / "edits.bodies").read_text() == '{"t":"a"}\n{"t":"b"}\n'
    assert (tmp_path / "edits.paths").read_text() == "/v/a\n/v/b\n"
    with pytest.raises(ValueError, match="one body a path"):
        walk_script(tmp_path, "bad", ["/v/a"], "POST", ["{}", "{}"])


def test_a_get_walk_reads_no_bodies(tmp_path):
    text = walk_script(tmp_path, "gets", ["/v/a"]).read_text()
    assert 'wrk.format("GET", paths[index], nil, bodies[index])' in text
    assert "bodies\")" not in text and not (tmp_path / "gets.bodies").exists()


def test_metadata_bodies_register_the_owners_own_uploads():
    body = json.loads(metadata_body("sub-1").replace("{id}", str(VIDEO)))
    assert body["video_s3_key"] == f"videos/sub-1/{VIDEO}"
    assert body["visibility"] == "PUBLIC" and body["title"]


def test_every_row_compares_targets_of_the_table():
    names = {target.name for target in read_targets() + write_targets("sub-1")}
    assert len(names) == len(read_targets() + write_targets("sub-1"))
    for row in rows(1000, "harbour"):
        assert {row.itube, row.baseline} <= names, row.label
    writes = write_targets("sub-1")
    assert all(target.walk and target.pool for target in writes)
    assert len({target.pool for target in writes}) == len(writes)
