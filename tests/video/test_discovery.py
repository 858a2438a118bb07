"""Discovery: the public list, keyset pagination, get by id, the owner's own list."""

from __future__ import annotations

import base64
import datetime as dt
import uuid

import pytest

from plugins.video.pagination import Cursor
from tests.video import workflow
from tests.video.support import TRANSCODER, follow_pages, insert_video, next_link, user

ALICE, BOB, CAROL = user("alice"), user("bob"), user("carol")
ANONYMOUS = workflow.ANONYMOUS
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def _follow(client, url, viewer=ANONYMOUS):
    return follow_pages(client, url, viewer)


@pytest.mark.parametrize("timestamps", [[T0], [T0, T0 + dt.timedelta(microseconds=1), T0
                                                + dt.timedelta(seconds=1)]])
def test_pagination_is_exact_with_equal_created_at(client, timestamps):
    public = [
        (timestamps[index % len(timestamps)], insert_video(
            client, created_at=timestamps[index % len(timestamps)]))
        for index in range(23)
    ]
    # Rows the public list must skip, interleaved with the same timestamps.
    for index, (visibility, status) in enumerate(
        [("PRIVATE", "COMPLETED"), ("UNLISTED", "COMPLETED"), ("PUBLIC", "IN_PROGRESS"),
         ("PUBLIC", "FAILED")]
    ):
        insert_video(client, created_at=timestamps[index % len(timestamps)],
                     visibility=visibility, processing_status=status)
    expected = [str(video_id) for _, video_id in sorted(public, reverse=True)]
    ids, pages = _follow(client, "/api/v1/upload/videos/?limit=5")
    assert ids == expected
    assert pages == 5


def test_link_header_keeps_the_limit_and_is_absent_on_the_last_page(client):
    for second in range(3):
        insert_video(client, created_at=T0 + dt.timedelta(seconds=second))
    first = workflow.list_public(client, ANONYMOUS, limit=2)
    link = next_link(first)
    assert link.startswith("/api/v1/upload/videos/?limit=2&cursor=")
    last = client.get(link)
    assert len(last.json()) == 1 and "link" not in last.headers
    assert workflow.list_public(client, ANONYMOUS).headers.get("link") is None


def test_the_default_page_is_twenty_newest_first(client):
    ids = [insert_video(client, created_at=T0 + dt.timedelta(minutes=i)) for i in range(21)]
    body = workflow.list_public(client, ANONYMOUS).json()
    assert [video["id"] for video in body] == [str(i) for i in reversed(ids[1:])]


def test_limit_bounds(client):
    insert_video(client)
    for limit in ("0", "101", "-1", "abc", "1.5", ""):
        response = client.get("/api/v1/upload/videos/", params={"limit": limit})
        assert response.status_code == 422, (limit, response.text)
        assert [error["field"] for error in response.json()["errors"]] == ["limit"]
    for limit in (1, 100):
        assert len(workflow.list_public(client, ANONYMOUS, limit=limit).json()) == 1


def _valid_cursor(client):
    for second in range(2):
        insert_video(client, created_at=T0 + dt.timedelta(seconds=second))
    return next_link(workflow.list_public(client, ANONYMOUS, limit=1)).split("cursor=")[1]


def _tampered(cursor):
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return [
        "not a cursor!",
        "%%%",
        cursor[:-3],
        cursor + "x" * 80,
        base64.urlsafe_b64encode(raw.replace(b":", b";")).decode(),
        base64.urlsafe_b64encode(b"99999999999999999999:" + raw.split(b":")[1]).decode(),
        base64.urlsafe_b64encode(raw + b"ff").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ]


def test_a_tampered_cursor_is_a_422_problem(client):
    cursor = _valid_cursor(client)
    assert client.get("/api/v1/upload/videos/", params={"cursor": cursor}).status_code == 200
    for bad in _tampered(cursor):
        for path in ("/api/v1/upload/videos/", "/api/v1/upload/videos/mine"):
            response = client.get(path, params={"cursor": bad}, **ALICE.request_options())
            assert response.status_code == 422, (bad, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["errors"][0]["field"] == "cursor"


def _publish(client, owner, *, visibility="PUBLIC", status="COMPLETED", title="v"):
    key = workflow.upload(client, owner)
    created = workflow.register(client, owner, key, visibility=visibility, title=title)
    assert created.status_code == 201, created.text
    video_id = created.json()["id"]
    if status != "IN_PROGRESS":
        response = workflow.set_status(client, TRANSCODER, video_id, status)
        assert response.status_code == 200, response.text
    return video_id


def test_visibility_and_ownership_for_three_users(client):
    alice = {
        "public": _publish(client, ALICE),
        "unlisted": _publish(client, ALICE, visibility="UNLISTED"),
        "private": _publish(client, ALICE, visibility="PRIVATE"),
        "processing": _publish(client, ALICE, status="IN_PROGRESS"),
        "failed": _publish(client, ALICE, status="FAILED"),
    }
    carol_public = _publish(client, CAROL)
    for viewer in (BOB, ANONYMOUS):
        for name, video_id in alice.items():
            expected = 200 if name in ("public", "unlisted") else 404
            assert workflow.get_video(client, viewer, video_id).status_code == expected, name
    for name, video_id in alice.items():
        seen = workflow.get_video(client, ALICE, video_id)
        assert seen.status_code == 200, name
        assert (seen.json()["playback_url"] is not None) == (
            name in ("public", "unlisted", "private"))
    assert workflow.get_video(client, ALICE, carol_public).status_code == 200
    listed = [video["id"] for video in workflow.list_public(client, BOB).json()]
    assert listed == [carol_public, alice["public"]]
    mine = [video["id"] for video in workflow.list_mine(client, ALICE).json()]
    assert mine == list(reversed(alice.values()))
    assert [video["id"] for video in workflow.list_mine(client, CAROL).json()] == [carol_public]
    assert workflow.list_mine(client, BOB).json() == []
    assert workflow.list_mine(client, ANONYMOUS).status_code == 401


def test_unknown_and_malformed_ids_are_404_problems(client):
    for path in (f"/api/v1/upload/videos/{uuid.uuid4()}", "/api/v1/upload/videos/not-a-uuid"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_the_owner_list_pages_through_every_state(client):
    for index, status in enumerate(["IN_PROGRESS", "FAILED", "COMPLETED"] * 3):
        insert_video(client, owner_id="alice", processing_status=status, visibility="PRIVATE",
                     created_at=T0 + dt.timedelta(seconds=index // 2))
    insert_video(client, owner_id="bob")
    ids, pages = _follow(client, "/api/v1/upload/videos/mine?limit=4", ALICE)
    assert len(set(ids)) == 9 and pages == 3


def test_discovery_can_require_a_signed_in_user(make_video_client):
    client = make_video_client({"public_discovery": False})
    video_id = insert_video(client)
    assert workflow.list_public(client, ANONYMOUS).status_code == 401
    assert workflow.get_video(client, ANONYMOUS, video_id).status_code == 401
    assert workflow.list_public(client, BOB).status_code == 200
    assert workflow.get_video(client, BOB, video_id).status_code == 200


@pytest.mark.parametrize("created_at", [dt.datetime.min, dt.datetime.max])
def test_a_cursor_at_either_end_of_time_is_a_page_not_a_500(client, created_at):
    """Any cursor the server decodes reaches the query: it must hold there too."""
    insert_video(client)
    cursor = Cursor(created_at=created_at.replace(tzinfo=dt.UTC), id=uuid.UUID(int=0)).encode()
    for path in ("/api/v1/upload/videos/", "/api/v1/upload/videos/mine"):
        response = client.get(path, params={"cursor": cursor}, **ALICE.request_options())
        assert response.status_code == 200, response.text
        expected = 1 if created_at == dt.datetime.max else 0
        assert len(response.json()) == expected, path
