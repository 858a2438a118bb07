"""Listings: strict query parameters, the uploader and date filters, the sorts and their
cursors, the uploader on every video, and one uploader's public videos."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.video import workflow
from tests.video.support import (
    TRANSCODER,
    follow_pages,
    insert_video,
    next_link,
    problem_fields,
    user,
)

ALICE, BOB = user("alice"), user("bob")
ANONYMOUS = workflow.ANONYMOUS
T0 = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
PUBLIC, MINE = "/api/v1/upload/videos/", "/api/v1/upload/videos/mine"
ALICES = "/api/v1/users/alice/videos"
LISTINGS = [PUBLIC, MINE, ALICES]


def _follow(client, url, viewer=ALICE):
    return follow_pages(client, url, viewer)


@pytest.mark.parametrize("path", LISTINGS)
def test_an_unknown_parameter_is_a_422_naming_it(client, path):
    insert_video(client)
    assert problem_fields(client.get(path, params={"tag": "cats"}, **ALICE.request_options())
                           ) == ["tag"]
    both = client.get(path, params={"tag": "cats", "page": "2"}, **ALICE.request_options())
    assert sorted(problem_fields(both)) == ["page", "tag"]


@pytest.mark.parametrize("path", [MINE, ALICES])
def test_user_id_is_a_filter_of_the_public_list_only(client, path):
    response = client.get(path, params={"user_id": "alice"}, **ALICE.request_options())
    assert problem_fields(response) == ["user_id"]


@pytest.mark.parametrize("path", LISTINGS)
def test_a_repeated_parameter_is_a_422_naming_it(client, path):
    values = {"sort": "oldest", "created_after": "2026-01-01T00:00:00Z", "cursor": "",
              "limit": "2"}
    for name, value in values.items():
        query = f"{name}={value}&{name}={value}"
        response = client.get(f"{path}?{query}", **ALICE.request_options())
        assert problem_fields(response) == [name]


@pytest.mark.parametrize("path", LISTINGS)
def test_an_unknown_sort_lists_the_allowed_ones(client, path):
    response = client.get(path, params={"sort": "popular"}, **ALICE.request_options())
    assert problem_fields(response) == ["sort"]
    assert "newest, oldest, title, relevance" in response.json()["errors"][0]["message"]


def test_the_public_list_filters_by_uploader(client):
    alice = [insert_video(client, owner_id="alice", created_at=T0 + dt.timedelta(seconds=i))
             for i in range(3)]
    insert_video(client, owner_id="bob")
    for visibility, status in [("PRIVATE", "COMPLETED"), ("UNLISTED", "COMPLETED"),
                               ("PUBLIC", "IN_PROGRESS")]:
        insert_video(client, owner_id="alice", visibility=visibility, processing_status=status)
    ids, pages = _follow(client, f"{PUBLIC}?user_id=alice&limit=2", ANONYMOUS)
    assert ids == [str(video_id) for video_id in reversed(alice)] and pages == 2
    assert client.get(PUBLIC, params={"user_id": "carol"}).json() == []
    assert problem_fields(client.get(PUBLIC, params={"user_id": ""})) == ["user_id"]


def _dated(client, owner="alice"):
    """Four videos an hour apart from T0, each with an id for its hour."""
    return {hour: str(insert_video(client, owner_id=owner, visibility="PRIVATE" if owner ==
                                   "alice" and hour == 3 else "PUBLIC",
                                   created_at=T0 + dt.timedelta(hours=hour)))
            for hour in range(4)}


@pytest.mark.parametrize("path", LISTINGS)
def test_dates_bound_the_list_at_or_after_and_strictly_before(client, path):
    hours = _dated(client)
    shown = {hour: video_id for hour, video_id in hours.items()
             if path == MINE or hour != 3}  # hour 3 is private: only in /mine

    def listed(**params):
        response = client.get(path, params=params, **ALICE.request_options())
        assert response.status_code == 200, response.text
        return [video["id"] for video in response.json()]

    assert listed(created_after="2026-01-01T13:00:00Z") == [
        shown[hour] for hour in (3, 2, 1) if hour in shown]
    assert listed(created_before="2026-01-01T15:00:00+01:00") == [shown[1], shown[0]]
    # The same instants in other offsets, and with a fraction of a second.
    assert listed(created_after="2026-01-01T08:00:00-05:00",
                  created_before="2026-01-01t14:00:00.000001z") == [shown[2], shown[1]]
    assert listed(created_after="2026-01-01 12:00:00.5Z", created_before="2026-01-01T14:00:00Z"
                  ) == [shown[1]]


NOT_RFC_3339 = [
    "yesterday", "2026-01-01", "2026-01-01T12:00:00", "2026-01-01T12:00Z",
    "2026-01-01T12:00:00 01:00",  # a + not written as %2B arrives as a space
    "2026-13-01T12:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T12:00:60Z",
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "２０２６-01-01T12:00:00Z", "",
]


@pytest.mark.parametrize("path", LISTINGS)
def test_a_date_that_is_not_rfc_3339_is_a_422_naming_it(client, path):
    for text in NOT_RFC_3339:
        for name in ("created_after", "created_before"):
            response = client.get(path, params={name: text}, **ALICE.request_options())
            assert problem_fields(response) == [name], text


@pytest.mark.parametrize("path", LISTINGS)
@pytest.mark.parametrize("after, before", [
    ("2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"),
    ("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z"),  # the same instant: an empty range
])
def test_inverted_dates_are_a_422_naming_both(client, path, after, before):
    response = client.get(path, params={"created_after": after, "created_before": before},
                          **ALICE.request_options())
    assert problem_fields(response) == ["created_after", "created_before"]


TITLES = ["bravo", "alpha", "charlie", "alpha", "bravo", "alpha", "delta"]


def _sortable(client, owner="alice"):
    """Rows with equal created_at (three to an instant) and equal titles, as (created_at,
    title, id); the public list skips the rows inserted beside them."""
    rows = []
    for index in range(14):
        created_at = T0 + dt.timedelta(seconds=index // 3)
        title = TITLES[index % len(TITLES)]
        rows.append((created_at, title, insert_video(client, owner_id=owner, title=title,
                                                     created_at=created_at)))
    for visibility, status in [("PRIVATE", "COMPLETED"), ("PUBLIC", "FAILED")]:
        insert_video(client, owner_id="carol", visibility=visibility, processing_status=status,
                     created_at=T0, title="alpha")
    return rows


def _expected(rows, sort):
    if sort == "newest":
        ordered = sorted(rows, key=lambda row: (row[0], row[2]), reverse=True)
    elif sort == "oldest":
        ordered = sorted(rows, key=lambda row: (row[0], row[2]))
    else:
        ordered = sorted(rows, key=lambda row: (row[1], row[2]))
    return [str(row[2]) for row in ordered]


@pytest.mark.parametrize("path", LISTINGS)
@pytest.mark.parametrize("sort", ["newest", "oldest", "title"])
def test_each_sort_pages_in_order_across_ties(client, path, sort):
    rows = _sortable(client)
    bobs = (T0, "alpha", insert_video(client, owner_id="bob", title="alpha", created_at=T0))
    ids, pages = _follow(client, f"{path}?sort={sort}&limit=3")
    assert ids == _expected([*rows, bobs] if path == PUBLIC else rows, sort)
    assert pages == 5


@pytest.mark.parametrize("sort", ["newest", "oldest", "title"])
def test_the_next_link_keeps_the_sort_and_the_filters(client, sort):
    rows = _sortable(client)
    since = T0 + dt.timedelta(seconds=1)
    kept = [row for row in rows if row[0] >= since]
    ids, pages = _follow(client, f"{PUBLIC}?limit=2&sort={sort}&user_id=alice"
                                 "&created_after=2026-01-01T12:00:01%2B00:00")
    assert ids == _expected(kept, sort)
    assert pages == (len(kept) + 1) // 2


def _first_cursor(client, path, sort):
    response = client.get(path, params={"sort": sort, "limit": 1}, **ALICE.request_options())
    return next_link(response).split("cursor=")[1].split("&")[0]


@pytest.mark.parametrize("path", LISTINGS)
def test_a_cursor_from_another_sort_is_a_422(client, path):
    _sortable(client)
    for issued_for, used_with in [("title", "newest"), ("newest", "oldest"), ("oldest", "title")]:
        cursor = _first_cursor(client, path, issued_for)
        params = {"cursor": cursor} if used_with == "newest" else {
            "cursor": cursor, "sort": used_with}
        response = client.get(path, params=params, **ALICE.request_options())
        assert problem_fields(response) == ["cursor"]
        assert f"sort={issued_for}" in response.json()["errors"][0]["message"]
        same = client.get(path, params={"cursor": cursor, "sort": issued_for},
                          **ALICE.request_options())
        assert same.status_code == 200, same.text


def test_a_title_cursor_holds_any_title(client):
    titles = ['a:b:c', "ünï 🎬", "x" * 200, "ü" * 200]
    for index, title in enumerate(titles * 2):
        insert_video(client, title=title, created_at=T0 + dt.timedelta(seconds=index))
    ids, pages = _follow(client, f"{PUBLIC}?sort=title&limit=1", ANONYMOUS)
    assert len(set(ids)) == 8 and pages == 8


def test_filtered_and_sorted_pages_are_read_afresh_the_default_one_is_cached(client):
    first = insert_video(client, created_at=T0)
    assert [v["id"] for v in workflow.list_public(client, ANONYMOUS).json()] == [str(first)]
    # Written straight to the database: no change drops the cached first page.
    second = insert_video(client, created_at=T0 + dt.timedelta(seconds=1))
    for params in ({}, {"sort": "newest"}):
        cached = workflow.list_public(client, ANONYMOUS, **params).json()
        assert [video["id"] for video in cached] == [str(first)]
    for params, expected in [({"sort": "oldest"}, [first, second]),
                             ({"sort": "title"}, sorted([first, second])),
                             ({"user_id": "alice"}, [second, first]),
                             ({"created_after": "2026-01-01T00:00:00Z"}, [second, first])]:
        listed = workflow.list_public(client, ANONYMOUS, **params).json()
        assert [video["id"] for video in listed] == [str(v) for v in expected], params


def test_every_video_names_its_uploader(client):
    key = workflow.upload(client, ALICE)
    created = workflow.register(client, ALICE, key)
    assert created.status_code == 201, created.text
    video_id = created.json()["id"]
    uploader = {"id": "alice", "name": "Alice"}
    assert created.json()["uploader"] == uploader
    assert workflow.get_video(client, ALICE, video_id).json()["uploader"] == uploader
    assert workflow.list_mine(client, ALICE).json()[0]["uploader"] == uploader
    workflow.set_status(client, TRANSCODER, video_id, "COMPLETED")
    for path in (PUBLIC, ALICES):
        assert client.get(path).json()[0]["uploader"] == uploader
    assert workflow.get_video(client, BOB, video_id).json()["uploader"] == uploader


def test_a_video_from_before_names_were_kept_has_a_null_name(client):
    video_id = insert_video(client, owner_id="bob")
    assert workflow.get_video(client, ANONYMOUS, video_id).json()["uploader"] == {
        "id": "bob", "name": None}


def test_one_uploaders_list_holds_only_their_public_completed_videos(client):
    alice = [insert_video(client, owner_id="alice", created_at=T0 + dt.timedelta(seconds=i))
             for i in range(5)]
    for visibility, status in [("PRIVATE", "COMPLETED"), ("UNLISTED", "COMPLETED"),
                               ("PUBLIC", "IN_PROGRESS"), ("PUBLIC", "FAILED")]:
        insert_video(client, owner_id="alice", visibility=visibility, processing_status=status)
    insert_video(client, owner_id="bob")
    for viewer in (ANONYMOUS, ALICE, BOB):
        ids, pages = _follow(client, f"{ALICES}?limit=2", viewer)
        assert ids == [str(video_id) for video_id in reversed(alice)] and pages == 3
    assert client.get("/api/v1/users/nobody/videos").json() == []
    odd = "a b@ü"
    odd_id = insert_video(client, owner_id=odd)
    listed = client.get(f"/api/v1/users/{odd.replace(' ', '%20')}/videos").json()
    assert [video["id"] for video in listed] == [str(odd_id)]


def test_one_uploaders_list_obeys_public_discovery(make_video_client):
    client = make_video_client({"public_discovery": False})
    video_id = insert_video(client, owner_id="alice")
    assert client.get(ALICES).status_code == 401
    listed = client.get(ALICES, **BOB.request_options())
    assert [video["id"] for video in listed.json()] == [str(video_id)]


def test_the_users_route_is_published_with_its_parameters(client):
    document = client.get("/openapi.json").json()
    for path in ("/api/v1/upload/videos/", "/api/v1/upload/videos/mine",
                 "/api/v1/users/{user_id}/videos"):
        params = {param["name"]: param for param in document["paths"][path]["get"]["parameters"]
                  if param["in"] == "query"}
        assert params["sort"]["schema"]["enum"] == ["newest", "oldest", "title", "relevance"]
        assert params["q"]["schema"]["maxLength"] == 200
        for name in ("created_after", "created_before"):
            assert params[name]["schema"]["format"] == "date-time"
        assert ("user_id" in params) == (path == "/api/v1/upload/videos/")
