"""The owner's library: edit (ETag, If-Match), status history, retry."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from core.auth import Actor
from core.db import engine_kind
from core.plugins import hookimpl
from plugins.video import queries
from plugins.video.library import queries as library_queries
from plugins.video.states import Status
from plugins.video.tables import Video, VideoStatusHistory
from tests.support.stand_ins import StandInServiceAuthPlugin, StandInUserAuthPlugin
from tests.video import workflow
from tests.video.support import (
    TRANSCODER,
    insert_video,
    next_link,
    run_in_app,
    status_history,
    user,
)

ALICE, BOB = user("alice"), user("bob")
ANYONE = workflow.ANONYMOUS


class RecordingEdits:
    """Keeps every edit and status event it receives."""

    def __init__(self) -> None:
        self.updated: list[tuple[Any, Any, tuple[str, ...]]] = []
        self.changed: list[tuple[Any, Any, Any, Any]] = []

    @hookimpl
    def on_video_updated(self, ctx: Any, video: Any, old: Any, changes: Any) -> None:
        self.updated.append((video, old, changes))

    @hookimpl
    def on_status_changed(self, ctx: Any, video: Any, old: Any, new: Any, principal: Any) -> None:
        self.changed.append((video, old, new, principal))


def _record(client, video_id):
    return run_in_app(client, lambda: queries.fetch(uuid.UUID(str(video_id))))


def _created(client, owner=ALICE, **fields):
    key = workflow.upload(client, owner)
    response = workflow.register(client, owner, key, **fields)
    assert response.status_code == 201, response.text
    return response


def _thumbnail(client, owner=ALICE):
    return workflow.upload(client, owner, b"\xff\xd8 jpeg", thumbnail=True,
                           content_type="image/jpeg")


def test_the_owner_edits_each_field(client):
    video_id = _created(client, title="Before", description="Old").json()["id"]
    thumbnail = _thumbnail(client)
    for fields, expected in [
        ({"title": "  After  "}, {"title": "After"}),
        ({"description": "New\nlines"}, {"description": "New\nlines"}),
        ({"visibility": "PRIVATE"}, {"visibility": "PRIVATE"}),
        ({"thumbnail_s3_key": thumbnail}, {"thumbnail_s3_key": thumbnail}),
        ({"thumbnail_s3_key": None}, {"thumbnail_s3_key": None}),
    ]:
        edited = workflow.edit_video(client, ALICE, video_id, **fields)
        assert edited.status_code == 200, edited.text
        seen = workflow.get_video(client, ALICE, video_id).json()
        for name, value in expected.items():
            assert edited.json()[name] == seen[name] == value, name
    record = _record(client, video_id)
    assert (record.title, record.visibility.value, record.version) == ("After", "PRIVATE", 6)
    # Edits are not status transitions.
    assert len(run_in_app(client, lambda: status_history(uuid.UUID(video_id)))) == 1


INVALID_EDITS = [
    ({"title": ""}, ["title"]),
    ({"title": "   "}, ["title"]),
    ({"title": "x" * 201}, ["title"]),
    ({"title": None}, ["title"]),
    ({"title": "bidi \u202e"}, ["title"]),
    ({"description": "x" * 5001}, ["description"]),
    ({"description": None}, ["description"]),
    ({"visibility": "SECRET"}, ["visibility"]),
    ({"title": "", "visibility": None}, ["title", "visibility"]),
    ({"thumbnail_s3_key": f"thumbnails/bob/{uuid.uuid4()}"}, ["thumbnail_s3_key"]),
    ({"thumbnail_s3_key": "thumbnails/alice/not-a-uuid"}, ["thumbnail_s3_key"]),
    ({"thumbnail_s3_key": f"thumbnails/alice/{uuid.uuid4()}"}, ["thumbnail_s3_key"]),
    ({"title": "Fine", "owner_id": "bob", "version": 9}, ["owner_id", "version"]),
    ({}, ["(body)"]),
]


@pytest.mark.parametrize(("body", "fields"), INVALID_EDITS)
def test_an_invalid_edit_is_a_422_naming_each_field(client, body, fields):
    video_id = _created(client, title="Kept").json()["id"]
    response = workflow.edit_video(client, ALICE, video_id, **body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == fields
    assert (_record(client, video_id).title, _record(client, video_id).version) == ("Kept", 1)


def test_a_body_that_is_not_a_json_object_is_refused(client):
    video_id = _created(client).json()["id"]
    path = f"{workflow.PREFIX}/{video_id}"
    as_list = client.patch(path, json=["title"], **ALICE.request_options())
    assert as_list.status_code == 422, as_list.text
    as_text = client.patch(path, content=b"title=x", **ALICE.request_options(
        {"Content-Type": "text/plain"}))
    assert as_text.status_code == 415, as_text.text


def test_someone_elses_or_a_missing_video_is_a_404(client):
    video_id = _created(client, title="Alice's").json()["id"]
    workflow.set_status(client, TRANSCODER, video_id, "FAILED", form="json")
    for owner, target in [(BOB, video_id), (ALICE, str(uuid.uuid4()))]:
        answers = [workflow.edit_video(client, owner, target, title="Mine now"),
                   workflow.history(client, owner, target),
                   workflow.retry(client, owner, target)]
        for answer in answers:
            assert answer.status_code == 404, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
    for answer in (workflow.edit_video(client, ANYONE, video_id, title="x"),
                   workflow.history(client, ANYONE, video_id),
                   workflow.retry(client, ANYONE, video_id)):
        assert answer.status_code == 401, answer.text
    record = _record(client, video_id)
    assert (record.title, record.processing_status) == ("Alice's", Status.FAILED)


def test_every_single_video_answer_carries_the_etag_of_its_version(client):
    created = _created(client)
    video_id = created.json()["id"]
    assert created.headers["etag"] == '"1"'
    for _ in range(2):  # loaded, then from the cache
        assert workflow.get_video(client, ALICE, video_id).headers["etag"] == '"1"'
    completed = workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")
    assert completed.headers["etag"] == '"2"'
    edited = workflow.edit_video(client, ALICE, video_id, if_match='"2"', title="Renamed")
    assert edited.status_code == 200, edited.text
    assert edited.headers["etag"] == '"3"'
    for viewer in (ALICE, ANYONE, ANYONE):
        assert workflow.get_video(client, viewer, video_id).headers["etag"] == '"3"'
    repeated = workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")
    assert repeated.headers["etag"] == '"3"'


def test_if_match_must_name_the_current_etag(client):
    video_id = _created(client, title="First").json()["id"]
    workflow.edit_video(client, ALICE, video_id, title="Second")  # now at version 2
    for stale in ('"1"', 'W/"2"', '"1", "3"', "2", "garbage"):
        refused = workflow.edit_video(client, ALICE, video_id, if_match=stale, title="Lost")
        assert refused.status_code == 412, (stale, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["current_etag"] == refused.headers["etag"] == '"2"'
        assert '"2"' in refused.json()["detail"]
    assert (_record(client, video_id).title, _record(client, video_id).version) == ("Second", 2)
    for if_match, title, etag in [("*", "Third", '"3"'), ('"1", "3"', "Fourth", '"4"'),
                                  ('"4"', "Fifth", '"5"')]:
        accepted = workflow.edit_video(client, ALICE, video_id, if_match=if_match, title=title)
        assert accepted.status_code == 200, (if_match, accepted.text)
        assert (accepted.json()["title"], accepted.headers["etag"]) == (title, etag)


@pytest.mark.hooks("on_video_updated")
def test_the_event_names_the_changed_fields_and_a_no_op_fires_nothing(make_video_client):
    recorder = RecordingEdits()
    client = make_video_client(plugins=[recorder])
    video_id = _created(client, title="Same", description="Old").json()["id"]
    edited = workflow.edit_video(client, ALICE, video_id, title="Same", description="New",
                                 visibility="PUBLIC", thumbnail_s3_key=None)
    assert edited.status_code == 200, edited.text
    ((video, old, changes),) = recorder.updated
    assert changes == ("description",)
    assert (old.description, video.description) == ("Old", "New")
    assert (old.version, video.version) == (1, 2)
    again = workflow.edit_video(client, ALICE, video_id, if_match='"2"', title="  Same ",
                                description="New")
    assert again.status_code == 200, again.text
    assert again.headers["etag"] == '"2"'
    assert len(recorder.updated) == 1
    assert _record(client, video_id).version == 2


def test_concurrent_edits_and_status_changes_lose_nothing(make_video_client):
    recorder = RecordingEdits()
    client = make_video_client(plugins=[recorder])
    video_id = str(insert_video(client, owner_id="alice", processing_status="IN_PROGRESS"))
    work = [("edit", f"Title {n}") for n in range(12)]
    work += [("status", status) for status in ["COMPLETED", "IN_PROGRESS"] * 6]

    def send(item):
        kind, value = item
        if kind == "edit":
            return kind, workflow.edit_video(client, ALICE, video_id, title=value).status_code
        return kind, workflow.set_status(client, TRANSCODER, video_id, value).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(send, work[::2] + work[1::2]))
    assert {code for _, code in answers} <= {200, 409}, answers
    edits = sum(1 for kind, code in answers if kind == "edit" and code == 200)
    transitions = [(old, new) for _, old, new, _ in recorder.changed]
    record = _record(client, video_id)
    # Every applied change bumped the version once, and the row shows the last of each.
    assert record.version == 1 + edits + len(transitions)
    assert len(recorder.updated) == edits
    last_edit = max(recorder.updated, key=lambda event: event[0].version)[0]
    assert record.title == last_edit.title
    history = run_in_app(client, lambda: status_history(uuid.UUID(video_id)))
    assert len(history) == len(transitions)
    assert record.processing_status.value == (history[-1]["to_status"] if history
                                              else "IN_PROGRESS")


@pytest.fixture(params=["memory", "redis"])
def cached_client(request, make_config, make_client) -> Iterator[Any]:
    """The video plugin on the in-process cache or on Redis."""
    plugins, sections = ["video"], {}
    if request.param == "redis":
        plugins = ["cache_redis", "video"]
        sections = {"cache_redis": {"url": request.getfixturevalue("redis_url"),
                                    "key_prefix": request.getfixturevalue("redis_prefix")}}
    yield make_client(make_config(plugins, plugins=sections),
                      plugins=[StandInUserAuthPlugin(), StandInServiceAuthPlugin()])


def test_a_cached_video_shows_the_edit_at_once(cached_client):
    client = cached_client
    video_id = str(insert_video(client, owner_id="alice", title="Cached"))
    for _ in range(2):
        assert workflow.get_video(client, ANYONE, video_id).json()["title"] == "Cached"
    listed = workflow.list_public(client, ANYONE).json()
    assert [video["title"] for video in listed] == ["Cached"]
    assert workflow.edit_video(client, ALICE, video_id, title="Edited").status_code == 200
    seen = workflow.get_video(client, ANYONE, video_id)
    assert (seen.json()["title"], seen.headers["etag"]) == ("Edited", '"2"')
    assert [video["title"] for video in workflow.list_public(client, ANYONE).json()] == [
        "Edited"]
    hidden = workflow.edit_video(client, ALICE, video_id, visibility="PRIVATE")
    assert hidden.status_code == 200
    assert workflow.get_video(client, ANYONE, video_id).status_code == 404
    assert workflow.list_public(client, ANYONE).json() == []
    assert workflow.get_video(client, ALICE, video_id).json()["visibility"] == "PRIVATE"


def _transitions(page):
    return [(row["from_status"], row["to_status"]) for row in page.json()]


def test_the_history_pages_oldest_first_across_a_change(client):
    video_id = _created(client).json()["id"]
    for status in ("FAILED", "IN_PROGRESS", "COMPLETED", "IN_PROGRESS"):
        workflow.set_status(client, TRANSCODER, video_id, status, form="json",
                            failure_reason="bad codec")
    first = workflow.history(client, ALICE, video_id, limit=2)
    assert first.status_code == 200, first.text
    assert _transitions(first) == [(None, "IN_PROGRESS"), ("IN_PROGRESS", "FAILED")]
    creation, failure = first.json()
    assert (creation["changed_by"], creation["reason"]) == ("user:alice", None)
    assert (failure["changed_by"], failure["reason"]) == ("service:transcoder", "bad codec")
    assert creation["changed_at"] <= failure["changed_at"]
    workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")  # between two pages
    pages, link = [], next_link(first)
    while link is not None:
        page = client.get(link, **ALICE.request_options())
        assert page.status_code == 200, page.text
        pages.append(_transitions(page))
        link = next_link(page)
    assert pages == [
        [("FAILED", "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")],
        [("COMPLETED", "IN_PROGRESS"), ("IN_PROGRESS", "COMPLETED")],
    ]
    whole = workflow.history(client, ALICE, video_id)
    assert len(whole.json()) == 6 and "link" not in whole.headers


@pytest.mark.parametrize("params", [{"cursor": "not a cursor"}, {"cursor": "YWJj"},
                                    {"cursor": "OTk5OTk5OTk5OTk5OTk5OTk5OTk5OQ"},
                                    {"limit": "0"}, {"limit": "101"}])
def test_a_bad_history_page_is_a_422_naming_the_parameter(client, params):
    video_id = _created(client).json()["id"]
    response = workflow.history(client, ALICE, video_id, **params)
    assert response.status_code == 422, response.text
    assert [error["field"] for error in response.json()["errors"]] == list(params)


def test_retry_sends_a_failed_video_back_to_processing(make_video_client):
    recorder = RecordingEdits()
    client = make_video_client(plugins=[recorder])
    video_id = _created(client).json()["id"]
    workflow.set_status(client, TRANSCODER, video_id, "FAILED", form="json",
                        failure_reason="bad codec")
    assert workflow.get_video(client, ALICE, video_id).json()["failure_reason"] == "bad codec"
    retried = workflow.retry(client, ALICE, video_id)
    assert retried.status_code == 200, retried.text
    assert (retried.json()["processing_status"], retried.json()["failure_reason"]) == (
        "IN_PROGRESS", None)
    assert retried.headers["etag"] == '"3"'
    seen = workflow.get_video(client, ALICE, video_id)  # the cached FAILED entry is gone
    assert (seen.json()["processing_status"], seen.headers["etag"]) == ("IN_PROGRESS", '"3"')
    last = workflow.history(client, ALICE, video_id).json()[-1]
    assert (last["from_status"], last["to_status"], last["changed_by"], last["reason"]) == (
        "FAILED", "IN_PROGRESS", "user:alice", "retry")
    _, old, new, principal = recorder.changed[-1]
    assert (old, new) == (Status.FAILED, Status.IN_PROGRESS)
    assert isinstance(principal, Actor) and principal.id == "alice"


def test_retry_of_a_video_that_has_not_failed_is_a_409(client):
    video_id = _created(client).json()["id"]
    for status in ("IN_PROGRESS", "COMPLETED"):
        workflow.set_status(client, TRANSCODER, video_id, status)
        refused = workflow.retry(client, ALICE, video_id)
        assert refused.status_code == 409, refused.text
        assert refused.json()["current_status"] == status
        assert status in refused.json()["detail"]
    assert _record(client, video_id).version == 2


async def _fill_history_and_plan(video_id: uuid.UUID) -> str:
    """Many videos with a long history each, then the plan of one history page."""
    now = dt.datetime.now(dt.UTC)
    videos = [video_id, *(uuid.uuid4() for _ in range(199))]
    await Video.insert(*(Video(
        id=each, owner_id="alice", title="t", visibility="PUBLIC",
        processing_status="IN_PROGRESS", video_s3_key=f"videos/alice/{each}", size_bytes=1,
        content_type="video/mp4", created_at=now, updated_at=now) for each in videos))
    rows = [VideoStatusHistory(video=each, from_status="IN_PROGRESS", to_status="FAILED",
                               changed_at=now, changed_by="service:transcoder")
            for _ in range(15) for each in videos]
    for start in range(0, len(rows), 500):
        await VideoStatusHistory.insert(*rows[start:start + 500])
    engine = Video._meta.db
    await engine.run_ddl("ANALYZE")
    explain = "EXPLAIN" if engine_kind(engine) == "postgres" else "EXPLAIN QUERY PLAN"
    page = library_queries.page_query(video_id, 30, 21)
    plan = await VideoStatusHistory.raw(f"{explain} {page}")
    return "\n".join(str(list(row.values())[-1]) for row in plan)


def test_a_history_page_is_read_through_its_index(client):
    plan = run_in_app(client, lambda: _fill_history_and_plan(uuid.uuid4()))
    # Both bounds in the index condition: PostgreSQL may still sort a video's few rows
    # after a bitmap scan, as it does for one owner's videos.
    assert "video_status_history_video_id_idx" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_405_names_every_method_of_the_paths_routes(client):
    video_id = insert_video(client)
    refused = client.request("OPTIONS", f"{workflow.PREFIX}/{video_id}")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    assert refused.headers["content-type"] == "application/problem+json"
    history = client.request("PUT", f"{workflow.PREFIX}/{video_id}/history")
    assert (history.status_code, history.headers["allow"]) == (405, "GET, HEAD")


def test_the_document_declares_the_routes_etags_and_if_match(client):
    paths = client.get("/openapi.json").json()["paths"]
    video = f"{workflow.PREFIX}/{{video_id}}"
    edit, history, retry = (paths[video]["patch"], paths[f"{video}/history"]["get"],
                            paths[f"{video}/retry"]["post"])
    for operation in (edit, history, retry):
        assert operation["security"] == [{"user": []}]
        assert "404" in operation["responses"]
    assert "412" in edit["responses"] and "409" in retry["responses"]
    assert [(p["name"], p["in"]) for p in edit["parameters"] if p["in"] != "path"] == [
        ("If-Match", "header")]
    assert set(edit["requestBody"]["content"]) == {"application/json"}
    assert "Link" in history["responses"]["200"]["headers"]
    answers = [(edit, "200"), (retry, "200"), (paths[video]["get"], "200"),
               (paths[f"{video}/status"]["patch"], "200"),
               (paths[f"{workflow.PREFIX}/metadata"]["post"], "201")]
    for operation, status in answers:
        assert "ETag" in operation["responses"][status]["headers"], operation["summary"]
