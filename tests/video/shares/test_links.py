"""Share links over HTTP, on both databases: made by the owner, opened by anyone with the
token until it expires, is revoked or runs out of views; every refusal the same 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest

from tests.video import workflow
from tests.video.shares.support import (
    ALICE,
    BOB,
    DAY,
    SHARED,
    create,
    created,
    problem_without_ids,
    queries_made,
    share_rows,
    shares_path,
    update_share,
    video_of,
)
from tests.video.support import TRANSCODER, next_link, problem_fields

NO_STORE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


def private_headers(response) -> dict[str, str]:
    return {name: response.headers.get(name) for name in NO_STORE}


# -- making a link ------------------------------------------------------------------------


def test_a_link_shows_its_token_once_and_keeps_only_its_hash(client):
    video_id = video_of(client)
    response = create(client, video_id, max_views=3)
    assert response.status_code == 201, response.text
    assert private_headers(response) == NO_STORE
    share = response.json()
    assert set(share) == {"id", "token", "url", "expires_at", "max_views", "views",
                          "created_at"}
    assert len(share["token"]) == 43
    assert share["url"] == f"{SHARED}/{share['token']}"
    assert (share["max_views"], share["views"]) == (3, 0)
    lifetime = (dt.datetime.fromisoformat(share["expires_at"])
                - dt.datetime.fromisoformat(share["created_at"]))
    assert lifetime == dt.timedelta(seconds=DAY)
    [row] = share_rows(client, video_id)
    assert row["token_hash"] == hashlib.sha256(share["token"].encode()).hexdigest()
    assert share["token"] not in {str(value) for value in row.values()}
    again = created(client, video_id)
    assert again["token"] != share["token"]


def test_an_unlisted_video_may_be_shared_and_a_public_one_is_a_409(client):
    assert create(client, video_of(client, "UNLISTED")).status_code == 201
    public = video_of(client, "PUBLIC")
    refused = create(client, public)
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "PUBLIC" in refused.json()["detail"]
    assert share_rows(client, public) == []


def test_someone_elses_or_an_unknown_video_is_a_404(client):
    video_id = video_of(client)
    for target, who in ((video_id, BOB), (uuid.uuid4(), ALICE)):
        for response in (create(client, target, who),
                         client.get(shares_path(target), **who.request_options()),
                         client.delete(f"{shares_path(target)}/{uuid.uuid4()}",
                                       **who.request_options())):
            assert response.status_code == 404, response.text
    assert share_rows(client) == []


def test_the_owner_routes_need_a_signed_in_user(client):
    video_id = video_of(client)
    assert client.post(shares_path(video_id), json={"expires_in": DAY}).status_code == 401
    assert client.get(shares_path(video_id)).status_code == 401


@pytest.mark.parametrize("body, field", [
    ({"expires_in": 59}, "expires_in"),
    ({"expires_in": 30 * DAY + 1}, "expires_in"),
    ({}, "expires_in"),
    ({"expires_in": "soon"}, "expires_in"),
    ({"expires_in": DAY, "max_views": 0}, "max_views"),
    ({"expires_in": DAY, "max_views": 1_000_001}, "max_views"),
])
def test_a_bad_body_is_a_422_naming_the_field_and_writes_nothing(client, body, field):
    video_id = video_of(client)
    response = client.post(shares_path(video_id), json=body, **ALICE.request_options())
    assert problem_fields(response) == [field]
    assert share_rows(client) == []


def test_the_configured_limits_bound_a_link(make_video_client):
    client = make_video_client({"share_max_expires_seconds": 3600, "share_max_views": 5})
    video_id = video_of(client)
    assert problem_fields(create(client, video_id, expires_in=3601)) == ["expires_in"]
    assert problem_fields(create(client, video_id, expires_in=60, max_views=6)) == ["max_views"]
    assert create(client, video_id, expires_in=3600, max_views=5).status_code == 201
    schema = client.get("/openapi.json").json()["components"]["schemas"]["CreateShareRequest"]
    assert schema["properties"]["expires_in"]["maximum"] == 3600


def test_a_video_has_at_most_the_configured_live_links(make_video_client):
    client = make_video_client({"share_max_live_per_video": 2})
    video_id = video_of(client)
    first, _ = created(client, video_id), created(client, video_id)
    refused = create(client, video_id)
    assert refused.status_code == 409, refused.text
    assert refused.json()["limit"] == "share_max_live_per_video"
    assert len(share_rows(client, video_id)) == 2
    # another video counts on its own; a revoked link no longer counts
    assert create(client, video_of(client)).status_code == 201
    revoked = client.delete(f"{shares_path(video_id)}/{first['id']}", **ALICE.request_options())
    assert revoked.status_code == 204
    assert create(client, video_id).status_code == 201


def test_a_configured_base_url_makes_the_link_absolute(make_video_client):
    client = make_video_client({"share_base_url": "https://video.example.com/"})
    share = created(client, video_of(client))
    assert share["url"] == f"https://video.example.com{SHARED}/{share['token']}"


# -- opening it ---------------------------------------------------------------------------


def test_anyone_with_the_token_sees_the_video_as_an_anonymous_viewer_of_an_unlisted_one(
        client):
    unlisted = video_of(client, "UNLISTED")
    share = created(client, unlisted, max_views=10)
    opened = client.get(share["url"])
    assert opened.status_code == 200, opened.text
    assert private_headers(opened) == NO_STORE
    shared = opened.json()
    assert shared.pop("share") == {"expires_at": share["expires_at"], "views_left": 9}
    anonymous = workflow.get_video(client, workflow.ANONYMOUS, str(unlisted)).json()
    assert set(shared) == set(anonymous)
    signed = ("playback_url", "thumbnail_url", "renditions")
    assert {k: v for k, v in shared.items() if k not in signed} == \
        {k: v for k, v in anonymous.items() if k not in signed}
    assert shared["playback_url"].startswith("http")
    assert "X-Amz-Signature=" in shared["playback_url"]


def test_a_private_video_in_progress_opens_without_playback_urls(client):
    video_id = video_of(client, "PRIVATE", "IN_PROGRESS")
    share = created(client, video_id)
    assert workflow.get_video(client, workflow.ANONYMOUS, str(video_id)).status_code == 404
    shared = client.get(share["url"]).json()
    assert (shared["id"], shared["processing_status"]) == (str(video_id), "IN_PROGRESS")
    assert shared["playback_url"] is None and shared["share"]["views_left"] is None


def test_an_uploaded_private_video_plays_through_its_link_once_completed(client):
    key = workflow.upload(client, ALICE)
    video = workflow.register(client, ALICE, key, visibility="PRIVATE").json()
    share = created(client, video["id"])
    assert client.get(share["url"]).json()["playback_url"] is None
    done = workflow.set_status(client, TRANSCODER, video["id"], "COMPLETED")
    assert done.status_code == 200, done.text
    assert client.get(share["url"]).json()["playback_url"]


def test_each_open_counts_a_view_until_none_is_left(client):
    video_id = video_of(client)
    share = created(client, video_id, max_views=2)
    assert [client.get(share["url"]).json()["share"]["views_left"] for _ in range(2)] == [1, 0]
    assert client.get(share["url"]).status_code == 404
    [listed] = client.get(shares_path(video_id), **ALICE.request_options()).json()
    assert (listed["state"], listed["views"]) == ("used_up", 2)


def test_the_answer_is_read_afresh_each_time(client):
    """No cache stands between the row and the answer: a change the API never saw (no
    invalidation) shows on the next open."""
    video_id = video_of(client)
    share = created(client, video_id)
    assert client.get(share["url"]).status_code == 200
    update_share(client, uuid.UUID(share["id"]), revoked_at=dt.datetime.now(dt.UTC))
    assert client.get(share["url"]).status_code == 404


def test_an_expired_link_opens_nothing(client):
    video_id = video_of(client)
    share = created(client, video_id)
    update_share(client, uuid.UUID(share["id"]),
                 expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert client.get(share["url"]).status_code == 404
    [listed] = client.get(shares_path(video_id), **ALICE.request_options()).json()
    assert listed["state"] == "expired"


def test_every_refusal_is_the_same_404(client):
    video_id, doomed = video_of(client), video_of(client)
    spent, revoked, expired, deleted = (created(client, video_id, max_views=1),
                                        created(client, video_id), created(client, video_id),
                                        created(client, doomed))
    assert client.get(spent["url"]).status_code == 200
    client.delete(f"{shares_path(video_id)}/{revoked['id']}", **ALICE.request_options())
    update_share(client, uuid.UUID(expired["id"]),
                 expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    assert client.delete(f"/api/v1/upload/videos/{doomed}",
                         **ALICE.request_options()).status_code == 204
    tokens = [spent["token"], revoked["token"], expired["token"], deleted["token"],
              "A" * 43, "short", "A" * 44, "A" * 42 + "!", "A" * 42 + "=", "%2E%2E"]
    answers = [client.get(f"{SHARED}/{token}") for token in tokens]
    assert {response.status_code for response in answers} == {404}
    bodies = [problem_without_ids(response) for response in answers]
    assert all(body == bodies[0] for body in bodies), bodies
    assert all(private_headers(response) == NO_STORE for response in answers)


@pytest.mark.parametrize("token", ["short", "A" * 44, "A" * 42 + "!", "A" * 42 + ".",
                                   "%F0%9F%94%91" * 8])
def test_a_malformed_token_is_refused_before_any_query(client, token):
    response, statements = queries_made(lambda: client.get(f"{SHARED}/{token}"))
    assert response.status_code == 404
    assert statements == 0


def test_a_well_formed_token_is_looked_up(client):
    response, statements = queries_made(lambda: client.get(f"{SHARED}/{'A' * 43}"))
    assert response.status_code == 404
    assert statements >= 1


def test_opens_are_rate_limited_per_client_address(make_video_client):
    client = make_video_client({"share_rate_limit": "3/minute"})
    share = created(client, video_of(client))
    assert [client.get(share["url"]).status_code for _ in range(3)] == [200] * 3
    refused = client.get(share["url"])
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert private_headers(refused) == NO_STORE
    assert client.get(f"{SHARED}/{'A' * 43}").status_code == 429  # guesses count too
    [row] = share_rows(client)
    assert row["views"] == 3


# -- listing and revoking -----------------------------------------------------------------


def test_the_owner_lists_links_newest_first_without_tokens_a_page_at_a_time(client):
    video_id = video_of(client)
    made = [created(client, video_id) for _ in range(3)]
    same_second = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for share in made:  # one creation time: the id breaks the tie
        update_share(client, uuid.UUID(share["id"]), created_at=same_second)
    later = created(client, video_id)
    update_share(client, uuid.UUID(later["id"]), created_at=same_second + dt.timedelta(seconds=5))
    first = client.get(shares_path(video_id), params={"limit": 2}, **ALICE.request_options())
    assert first.status_code == 200, first.text
    link = next_link(first)
    assert link is not None
    second = client.get(link, **ALICE.request_options())
    assert next_link(second) is None
    listed = first.json() + second.json()
    expected = [later["id"], *sorted((share["id"] for share in made), reverse=True)]
    assert [share["id"] for share in listed] == expected
    assert all("token" not in share and share["state"] == "active" for share in listed)
    assert set(listed[0]) == {"id", "state", "expires_at", "max_views", "views",
                              "created_at", "revoked_at"}


def test_a_bad_cursor_is_a_422(client):
    video_id = video_of(client)
    response = client.get(shares_path(video_id), params={"cursor": "bm90LWEtY3Vyc29y"},
                          **ALICE.request_options())
    assert problem_fields(response) == ["cursor"]


def test_revoking_is_at_once_and_again_is_a_204(client):
    video_id = video_of(client)
    share = created(client, video_id)
    path = f"{shares_path(video_id)}/{share['id']}"
    assert client.delete(path, **ALICE.request_options()).status_code == 204
    assert client.get(share["url"]).status_code == 404
    [row] = share_rows(client)
    assert client.delete(path, **ALICE.request_options()).status_code == 204
    [again] = share_rows(client)
    assert again["revoked_at"] == row["revoked_at"]
    [listed] = client.get(shares_path(video_id), **ALICE.request_options()).json()
    assert listed["state"] == "revoked" and listed["revoked_at"]
    assert client.delete(f"{shares_path(video_id)}/{uuid.uuid4()}",
                         **ALICE.request_options()).status_code == 404
    other = video_of(client)  # a link of another video is unknown under this one
    assert client.delete(f"{shares_path(other)}/{share['id']}",
                         **ALICE.request_options()).status_code == 404


def test_a_deleted_videos_links_stop_at_once_and_their_rows_go(client):
    video_id = video_of(client)
    share = created(client, video_id)
    kept = created(client, video_of(client))
    assert client.delete(f"/api/v1/upload/videos/{video_id}",
                         **ALICE.request_options()).status_code == 204
    assert client.get(share["url"]).status_code == 404
    assert share_rows(client, video_id) == []
    assert client.get(kept["url"]).status_code == 200
