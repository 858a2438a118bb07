"""The whole video workflow under every combination of the swappable parts, chosen in
config alone: user auth (auth_cognito, auth_local) x cache (in-process, cache_redis) x
service auth (internal_iam, internal_token). A real user signs up and in, uploads through
the presigned URL, saves the metadata; the real example transcoder, signing with what the
configured strategy offers, completes the video from the queue's upload event; then it is
listed and opened, and its playback URL serves the upload, and the EventBridge sink
(events_aws, loaded in every combination) has put the video's events on the bus. One
SQLite database per combination: the database is not part of the matrix (the other suites
run both)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from starlette.testclient import TestClient

from core.config import Config, config_from_dict
from core.sessions import AUTH_PATH
from plugins.internal_iam.client import SigV4Signer
from plugins.internal_token.client import HmacTokenSigner
from plugins.video.transcoder import TranscoderExample
from plugins.video.transcoder_command import client_auth
from tests.auth.conftest import BASE_URL, CHEAP_ARGON2
from tests.auth.contract import PASSWORD
from tests.events_aws.support import route_bus_to_queue
from tests.internal_auth.strategies import REGION, HmacToken, SigV4Static
from tests.video import workflow
from tests.video.workflow import ANONYMOUS, Credentials

USER_AUTH = ("auth_cognito", "auth_local")
CACHES = ("memory", "cache_redis")
SERVICE_AUTH = {"internal_iam": SigV4Static(), "internal_token": HmacToken()}
# A signer the loaded strategy must refuse: the other strategy's, with its valid key.
FOREIGN_SIGNER = {
    "internal_iam": HmacTokenSigner("transcoder", HmacToken.secrets["transcoder"]),
    "internal_token": SigV4Signer(SigV4Static.good, region=REGION),
}
CHALLENGE = {"internal_iam": "AWS4-HMAC-SHA256", "internal_token": "ITUBE-HMAC-SHA256"}
COMBINATIONS = list(itertools.product(USER_AUTH, CACHES, SERVICE_AUTH))


def combination_config(user_auth: str, cache: str, service_auth: str, *, tmp_path: Path,
                       moto_endpoint: str, redis: dict[str, str] | None) -> Config:
    suffix = uuid.uuid4().hex[:10]
    plugins: dict[str, Any] = {
        # A raw bucket and queue of this combination's own: no other test's upload events.
        "local_aws": {"endpoint_url": moto_endpoint, "raw_bucket": f"itube-raw-{suffix}",
                      "queue_name": f"itube-events-{suffix}",
                      "user_pool_name": f"itube-{suffix}",
                      "event_bus_name": f"itube-bus-{suffix}"},
        user_auth: CHEAP_ARGON2 if user_auth == "auth_local" else {},
        service_auth: SERVICE_AUTH[service_auth].settings(),
        "video": {},
        "events_aws": {},
    }
    names = ["local_aws", user_auth, service_auth, "video", "events_aws"]
    if redis is not None:
        names.insert(1, "cache_redis")
        plugins["cache_redis"] = redis
    return config_from_dict({
        "app": {"plugins": names},
        "database": {"url": f"sqlite:///{tmp_path}/itube.db", "migrate_on_start": True},
        "logging": {"access_log": False},
        "server": {"freeze_heap_after_startup": False},
        "plugins": plugins,
    }, source="<combination>", environ={})


def sign_up_and_in(client: TestClient) -> tuple[str, Credentials]:
    """A new user's id and their session cookie; the client's own jar is left empty."""
    email = f"user-{uuid.uuid4().hex[:12]}@example.com"
    registered = client.post(f"{AUTH_PATH}/register", json={
        "name": "Combination User", "email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    login = client.post(f"{AUTH_PATH}/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    session = Credentials(cookies={"access_token": client.cookies["access_token"]})
    client.cookies.clear()
    return login.json()["user"]["id"], session


def aws(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.mark.parametrize(("user_auth", "cache", "service_auth"), COMBINATIONS,
                         ids=["-".join(combination) for combination in COMBINATIONS])
def test_the_video_workflow_runs_end_to_end(user_auth: str, cache: str, service_auth: str,
                                            request: pytest.FixtureRequest, tmp_path: Path,
                                            moto_endpoint: str, make_client: Any):
    redis = None
    if cache == "cache_redis":
        redis = {"url": request.getfixturevalue("redis_url"),
                 "key_prefix": request.getfixturevalue("redis_prefix")}
    config = combination_config(user_auth, cache, service_auth, tmp_path=tmp_path,
                                moto_endpoint=moto_endpoint, redis=redis)
    client: TestClient = make_client(config, base_url=BASE_URL)
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    assert ctx.cache.shared is (cache == "cache_redis")
    bus = route_bus_to_queue(moto_endpoint, ctx.aws.resource("eventbridge_bus_name"),
                             create=False)

    user_id, user = sign_up_and_in(client)
    key = workflow.upload(client, user)
    created = workflow.register(client, user, key, title="Every combination")
    assert created.status_code == 201, created.text
    video_id = created.json()["id"]
    assert created.json()["processing_status"] == "IN_PROGRESS"
    assert workflow.get_video(client, ANONYMOUS, video_id).status_code == 404

    # The loaded strategy is the configured one: the other one's signature opens nothing.
    foreign = workflow.find_by_key(client, Credentials(auth=FOREIGN_SIGNER[service_auth]), key)
    assert foreign.status_code == 401
    assert CHALLENGE[service_auth] in foreign.headers["www-authenticate"]

    lines: list[str] = []
    transcoder = TranscoderExample(
        client, aws("sqs", moto_endpoint), ctx.aws.resource("sqs_raw_events_queue_url"),
        auth=client_auth(ctx), out=lines.append, s3=aws("s3", moto_endpoint),
        processed_bucket=ctx.aws.resource("s3_processed_bucket"),
    )
    outcomes = transcoder.drain(wait_seconds=0)
    assert outcomes["completed"] == 1 and outcomes["error"] == 0, lines

    listed = workflow.list_public(client, ANONYMOUS)
    assert listed.status_code == 200 and video_id in [v["id"] for v in listed.json()]
    mine = workflow.list_mine(client, user)
    assert mine.status_code == 200 and video_id in [v["id"] for v in mine.json()]
    seen = workflow.get_video(client, ANONYMOUS, video_id)
    assert seen.status_code == 200, seen.text
    video = seen.json()
    assert video["processing_status"] == "COMPLETED" and video["user_id"] == user_id
    # the example publishes an HLS ladder: the video plays through the manifest route
    assert video["playback_url"] == f"{workflow.PREFIX}/{video_id}/playback.m3u8"
    played = client.get(video["playback_url"], **ANONYMOUS.request_options())
    assert played.status_code == 200 and played.text.startswith("#EXTM3U")

    # The events_aws sink put the video's changes on the provisioned EventBridge bus.
    expected = {"video.created", "video.status_changed"}

    def types(entries: list[dict[str, Any]]) -> set[str]:
        return {entry["detail-type"] for entry in entries
                if entry["detail"]["subject"] == video_id}

    routed = bus.received_until(lambda entries: types(entries) >= expected)
    assert types(routed) >= expected, routed
