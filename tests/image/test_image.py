"""The API image as production runs it: config/production.toml, PostgreSQL, Redis, AWS (moto
here), two workers. The whole video workflow goes through the container; then it must be
healthy by its own HEALTHCHECK, run as non-root, and stop cleanly on SIGTERM.

The tests share one container and run in file order: the last one stops it.
"""

from __future__ import annotations

import time

import httpx
import pytest
from botocore.credentials import Credentials

from core.aws import AwsEnvironment
from core.sessions import ACCESS_COOKIE, AUTH_PATH
from plugins.internal_iam.client import StsProofSigner
from tests.image.conftest import REGION, WORKERS, Container, docker, needs_image
from tests.video import workflow

pytestmark = [needs_image, pytest.mark.slow]

PASSWORD = "ImageTest123!"
HEALTHY_SECONDS = 90  # the image checks every 15 s
STOP_SECONDS = 30


def sign_in(client: httpx.Client) -> workflow.Credentials:
    """Register, confirm (production refuses auto-confirm; the emulator sends no mail and
    takes any code), log in; returns the session cookie as the browser would send it."""
    email = "image-test@example.com"
    registered = client.post(f"{AUTH_PATH}/register",
                             json={"name": "Image Test", "email": email, "password": PASSWORD})
    assert registered.status_code == 201, registered.text
    assert registered.json()["confirmed"] is False
    confirmed = client.post(f"{AUTH_PATH}/confirm", json={"email": email, "code": "123456"})
    assert confirmed.status_code == 200, confirmed.text
    login = client.post(f"{AUTH_PATH}/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    access = login.cookies.get(ACCESS_COOKIE)
    assert access, login.headers
    return workflow.Credentials(cookies={ACCESS_COOKIE: access})


def test_it_runs_as_an_unprivileged_user(container: Container):
    assert container.inspect()["Config"]["User"] not in ("", "root", "0", "0:0")
    ids = docker("exec", container.name, "id", "-u").stdout.strip()
    assert ids.isdigit() and int(ids) != 0
    # Every process of the container: the supervisor, its workers (and this look).
    real_uids = docker("exec", container.name, "sh", "-c",
                       "grep -h '^Uid:' /proc/[0-9]*/status | cut -f2").stdout.split()
    assert len(real_uids) > WORKERS and "0" not in real_uids, real_uids


def test_the_workers_come_from_the_environment(container: Container):
    count = ("import pathlib; print(sum(b'spawn' b'_main' in p.read_bytes() "
             "for p in pathlib.Path('/proc').glob('[0-9]*/cmdline')))")
    workers = docker("exec", container.name, "python", "-c", count).stdout.strip()
    assert workers == str(WORKERS)


def test_the_whole_workflow(container: Container, moto_endpoint: str, transcoder: Credentials):
    service = workflow.Credentials(auth=StsProofSigner(
        transcoder, sts_endpoint_url=moto_endpoint, sts_region=REGION))
    with httpx.Client(base_url=container.url, timeout=15) as client:
        user = sign_in(client)
        seen = workflow.run_workflow(client, user, service)
        mine = workflow.list_mine(client, user)
    assert seen["title"] == "End to end"
    assert mine.status_code == 200, mine.text
    assert seen["id"] in [video["id"] for video in mine.json()], mine.text


def test_the_healthcheck_reports_healthy(container: Container):
    deadline = time.monotonic() + HEALTHY_SECONDS
    status = ""
    while time.monotonic() < deadline:
        health = container.inspect()["State"].get("Health") or {}
        status = health.get("Status", "")
        if status == "healthy":
            break
        assert status in ("starting", ""), health
        time.sleep(1)
    assert status == "healthy", container.inspect()["State"]


def test_no_secret_reaches_the_logs(container: Container, aws: AwsEnvironment):
    logs = container.logs()
    assert logs.strip(), "the container logged nothing"
    for secret in (aws.resources["cognito_client_secret"], PASSWORD):
        assert secret not in logs
    assert "Traceback" not in logs, logs


def test_sigterm_stops_it_cleanly(container: Container):
    assert container.inspect()["Config"].get("StopSignal") == "SIGTERM"
    started = time.monotonic()
    docker("stop", "--time", str(STOP_SECONDS), container.name, timeout=STOP_SECONDS + 30)
    took = time.monotonic() - started
    state = container.inspect()["State"]
    # 137 would be docker's SIGKILL after the grace period: the server did not stop itself.
    assert state["ExitCode"] == 0, (state, container.logs())
    assert took < STOP_SECONDS, took
    assert "Traceback" not in container.logs()
