"""The video workflow with a real user-auth provider instead of the stand-in: a session
cookie from each provider opens the user routes, and the video plugin is unchanged."""

from __future__ import annotations

import pytest

from core.sessions import AUTH_PATH
from tests.auth.contract import NAME, new_email
from tests.auth.contract import register as register_user
from tests.support.stand_ins import StandInServiceAuthPlugin
from tests.video import workflow
from tests.video.support import TRANSCODER
from tests.video.workflow import ANONYMOUS, Credentials


@pytest.fixture(params=["cognito", "local"])
def client(request, cognito_harness, local_harness):
    harness = {"cognito": cognito_harness, "local": local_harness}[request.param]
    return harness.start(with_plugins={"video": {}}, extra_plugins=[StandInServiceAuthPlugin()])


def sign_in(client) -> tuple[str, Credentials]:
    """A new user's id and their session cookie; the client's own jar is left empty."""
    email = new_email()
    assert register_user(client, email).status_code == 201
    response = client.post(f"{AUTH_PATH}/login",
                           json={"email": email, "password": "SecurePass123!"})
    assert response.status_code == 200, response.text
    session = Credentials(cookies={"access_token": client.cookies["access_token"]})
    client.cookies.clear()
    return response.json()["user"]["id"], session


def test_the_video_workflow_runs_under_the_provider(client):
    user_id, alice = sign_in(client)
    seen = workflow.run_workflow(client, alice, TRANSCODER)
    assert seen["user_id"] == user_id
    # The name given at sign-up, kept with the video: each provider knows its users' names.
    assert seen["uploader"] == {"id": user_id, "name": NAME}
    assert seen["video_s3_key"].startswith(f"videos/{user_id}/")


def test_owners_see_their_unprocessed_videos_and_others_do_not(client):
    _, alice = sign_in(client)
    _, bob = sign_in(client)
    key = workflow.upload(client, alice)
    created = workflow.register(client, alice, key, visibility="PRIVATE").json()
    assert workflow.get_video(client, alice, created["id"]).status_code == 200
    assert workflow.get_video(client, bob, created["id"]).status_code == 404
    assert workflow.get_video(client, ANONYMOUS, created["id"]).status_code == 404
    # Bob cannot register a key under Alice's prefix either.
    other_key = workflow.upload(client, alice)
    assert workflow.register(client, bob, other_key).status_code == 403


def test_a_signed_out_session_opens_no_user_route(client):
    _, alice = sign_in(client)
    assert workflow.request_upload_url(client, alice).status_code == 200
    logout = client.post(f"{AUTH_PATH}/logout", **alice.request_options())
    assert logout.status_code == 204
    assert workflow.request_upload_url(client, alice).status_code == 401


def test_a_user_session_never_opens_a_service_route(client):
    _, alice = sign_in(client)
    key = workflow.upload(client, alice)
    assert workflow.register(client, alice, key).status_code == 201
    assert workflow.find_by_key(client, alice, key).status_code == 401
    assert workflow.find_by_key(client, TRANSCODER, key).status_code == 200
