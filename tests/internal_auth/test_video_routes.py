"""End to end through the video plugin's real internal routes, on both databases: the
transcoder signs with SigV4 (or HMAC) and every forgery is refused."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.credentials import Credentials

from plugins.internal_iam.client import SigV4Signer, sign_request
from plugins.internal_token.client import HmacTokenSigner
from tests.internal_auth.strategies import HmacToken, SigV4Static
from tests.internal_auth.test_contract import build, resend
from tests.support.stand_ins import StandInUserAuthPlugin
from tests.video import workflow
from tests.video.workflow import Credentials as As

ALICE = As(headers={"X-Test-User": "alice"})
STATIC = SigV4Static()
SIGNED = As(auth=SigV4Signer(STATIC.good, region="us-east-1"))


@pytest.fixture
def video_app(make_config: Any, make_client: Any) -> Any:
    def make(plugin: str = "internal_iam", settings: dict[str, Any] | None = None) -> Any:
        config = make_config(["video", plugin],
                             plugins={plugin: settings or STATIC.settings()})
        return make_client(config, plugins=[StandInUserAuthPlugin()])

    return make


@pytest.mark.parametrize("form", ["query", "json"])
def test_the_workflow_with_a_sigv4_signed_transcoder(video_app: Any, form: str):
    seen = workflow.run_workflow(video_app(), user=ALICE, service=SIGNED, form=form)
    assert seen["processing_status"] == "COMPLETED"


def test_the_workflow_with_hmac_signed_requests(video_app: Any):
    token = HmacToken()
    client = video_app("internal_token", token.settings())
    service = As(auth=HmacTokenSigner("transcoder", token.secrets["transcoder"]))
    assert workflow.run_workflow(client, user=ALICE, service=service)["processing_status"] == (
        "COMPLETED")


def test_lookup_by_a_url_encoded_key(video_app: Any):
    client = video_app()
    key = workflow.upload(client, ALICE)
    created = workflow.register(client, ALICE, key).json()
    found = workflow.find_by_key(client, SIGNED, key, encode_slashes=True)
    assert found.status_code == 200, found.text
    assert found.json() == {"video_id": created["id"], "checksum": None}
    assert workflow.find_by_key(client, SIGNED, key + "-missing").status_code == 404


def test_forged_and_replayed_status_reports_are_refused(video_app: Any):
    client = video_app()
    key = workflow.upload(client, ALICE)
    video_id = workflow.register(client, ALICE, key).json()["id"]
    path = f"/api/v1/upload/videos/{video_id}/status"

    wrong = sign_request(build("PATCH", f"{path}?status=FAILED"),
                         Credentials(STATIC.good.access_key, "guess"), region="us-east-1")
    assert client.send(wrong).status_code == 401
    assert client.patch(f"{path}?status=COMPLETED", headers={
        "X-Amzn-RequestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAITUBEDEVELOPMENT/20260101/us-east-1/"
                         "execute-api/aws4_request, SignedHeaders=host;x-amz-date, "
                         "Signature=" + "b" * 64,
    }).status_code == 401
    assert client.patch(f"{path}?status=COMPLETED", headers=ALICE.headers).status_code == 401

    signed = sign_request(build("PATCH", path, json={"status": "FAILED",
                                                      "failure_reason": "corrupt"}),
                          STATIC.good, region="us-east-1")
    assert client.send(resend(signed, content=b'{"status":"COMPLETED"}')).status_code == 401
    assert client.send(signed).status_code == 200
    assert client.send(resend(signed)).status_code == 401  # replayed
    mine = workflow.get_video(client, ALICE, video_id).json()
    assert mine["processing_status"] == "FAILED"


def test_a_service_signature_does_not_open_user_routes(video_app: Any):
    client = video_app()
    response = client.post("/api/v1/upload/videos/upload-url", auth=SIGNED.auth)
    assert response.status_code == 401


def test_a_real_session_cookie_does_not_open_internal_routes(make_config: Any, make_client: Any):
    config = make_config(["auth_cognito", "video", "internal_iam"], plugins={
        "auth_cognito": {"secure_cookies": False}, "internal_iam": STATIC.settings()})
    client = make_client(config)
    account = {"name": "Bea", "email": f"bea-{uuid.uuid4().hex[:8]}@example.com",
               "password": "Correct-horse-1!"}
    assert client.post("/api/v1/auth/register", json=account).status_code == 201
    login = client.post("/api/v1/auth/login", json={"email": account["email"],
                                                      "password": account["password"]})
    assert login.status_code == 200, login.text
    assert client.get("/api/v1/auth/me").status_code == 200  # the cookie works for users
    key = workflow.upload(client, workflow.ANONYMOUS)
    video_id = workflow.register(client, workflow.ANONYMOUS, key).json()["id"]

    looked_up = client.get(workflow.by_key_path(key))
    assert looked_up.status_code == 401
    assert looked_up.headers["www-authenticate"] == "AWS4-HMAC-SHA256"
    patched = client.patch(f"/api/v1/upload/videos/{video_id}/status?status=COMPLETED")
    assert patched.status_code == 401
    client.cookies.clear()
    assert client.get("/api/v1/auth/me", auth=SIGNED.auth).status_code == 401
