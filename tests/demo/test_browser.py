"""The demo page end to end in headless Chromium, against the embedded default on a real
uvicorn process: sign up, sign in, upload a file in parts straight to S3, reload the page
in the middle and resume without sending a finished part again, save the metadata, watch
the example transcoder complete it and play its HLS ladder (the fixture one: random bytes
do not decode); errors shown in the page, and a cancelled upload aborted. The console logs
no error."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.demo.browser import (
    chromium,
    needs_chromium,
    processed_object,
    run_transcoder_once,
    serving_embedded_default,
)
from tests.demo.page import Page, hold_requests_for_part, part_number
from tests.support.server import UvicornProcess

pytestmark = [pytest.mark.slow, needs_chromium]

MIB = 1024**2
# Three parts of the API's smallest part size (8 MiB): 8 + 8 + 4.
FILE_BYTES = 20 * MIB
PART_COUNT = 3
PASSWORD = "SecurePass123!"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[UvicornProcess]:
    with serving_embedded_default(tmp_path) as served:
        yield served


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    driver = chromium(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()


# Each part's SHA-256 signed into its URL, as the page does in a secure context (localhost
# is one); or no checksum, as where the browser offers no `crypto.subtle`.
WITH_CHECKSUMS = {
    "sha256": (r", each checked by S3 \(SHA256\)\.",
               r"Upload complete: S3's SHA-256 of the parts, \S+-3, matches the file\."),
    "none": (r"\.", r"Upload complete\."),
}


@pytest.mark.parametrize("checksum", sorted(WITH_CHECKSUMS))
def test_sign_up_upload_resume_after_a_reload_process_and_play(server, browser, tmp_path,
                                                                checksum):
    started, completed = WITH_CHECKSUMS[checksum]
    video_file = tmp_path / "holiday.mp4"
    content = os.urandom(FILE_BYTES)
    video_file.write_bytes(content)
    page = Page(browser, server.url)
    page.open()

    page.type("name", "Demo Person")
    page.type("email", "demo.person@example.com")
    page.type("password", PASSWORD)
    page.click("sign-up")
    page.until_logged(r"Account created for demo\.person@example\.com")
    page.click("sign-in")
    page.until_logged(r"Signed in as demo\.person@example\.com")
    assert page.text("who") == "Signed in as Demo Person (demo.person@example.com)."

    page.type("title", "Holiday")
    page.type("description", "Uploaded from the demo page")
    page.element("file").send_keys(str(video_file))
    if checksum == "none":
        browser.execute_script("Object.defineProperty(crypto, 'subtle', {value: undefined})")
    hold_requests_for_part(browser, 2)
    page.click("start")
    page.until_logged(rf"Upload started: {PART_COUNT} parts of up to 8\.0 MiB{started}")
    page.until_logged(rf"Part 1 of {PART_COUNT} uploaded\.")
    page.until_part_sent(2)
    before_reload = page.part_uploads()
    assert [part_number(request) for request in before_reload] == [1, 2]
    assert all(("x-amz-checksum-sha256" in {name.lower() for name in request["headers"]})
               == (checksum == "sha256") for request in before_reload)

    page.reload()
    browser.execute_cdp_cmd("Fetch.disable", {})
    assert page.element("pending").is_displayed()
    assert "holiday.mp4" in page.text("pending")
    page.type("title", "Holiday")
    page.element("file").send_keys(str(video_file))
    page.click("start")
    page.until_logged(rf"Resuming the upload: 1 of {PART_COUNT} parts already uploaded\.")
    page.until_logged(completed)
    video_id = page.until_logged(r"Saved: video [0-9a-f-]{36}\.").split()[-1].rstrip(".")
    after_reload = [part_number(request) for request in page.part_uploads()]
    progress = page.element("progress")
    assert (progress.get_attribute("value"), progress.get_attribute("max")) == (
        str(FILE_BYTES), str(FILE_BYTES))
    assert after_reload == [2, 3], "only the parts S3 did not have are sent after the reload"

    page.until_status("IN_PROGRESS")
    reports: list[str] = []
    page.until_status("COMPLETED", while_waiting=lambda: reports.append(
        run_transcoder_once(server, tmp_path / "itube.toml")))
    assert any(f"video {video_id} is COMPLETED" in report for report in reports), reports
    page.until_logged(r"Ready to play: Holiday \(HLS through hls\.js\)\.")
    page.until_playing_past(0.5)
    assert page.element("player").is_displayed()
    assert video_id in page.text("video-id")
    cookies = {cookie["name"]: cookie["value"] for cookie in browser.get_cookies()}
    video = httpx.get(f"{server.url}/api/v1/upload/videos/{video_id}", cookies=cookies,
                      timeout=10).json()
    assert processed_object(tmp_path / "itube.toml", video["video_s3_key"]) == content, (
        "the processed copy is the uploaded file, byte for byte")

    page.collect_logs()
    errors = [entry for entry in page.console if entry["level"] == "SEVERE"]
    assert errors == [], errors


def test_errors_are_shown_in_the_page_and_cancel_aborts_the_upload(server, browser, tmp_path):
    video_file = tmp_path / "draft.mp4"
    video_file.write_bytes(os.urandom(FILE_BYTES))
    page = Page(browser, server.url)
    page.open()

    page.type("email", "nobody@example.com")
    page.type("password", PASSWORD)
    page.click("sign-in")
    alert = page.element("error")
    page.wait.until(lambda _: alert.is_displayed())
    assert alert.get_attribute("role") == "alert"
    assert alert.text == "Incorrect e-mail address or password"

    page.type("name", "Draft Person")
    page.type("email", "draft.person@example.com")
    page.type("password", PASSWORD)
    page.click("sign-up")
    page.until_logged(r"Account created for draft\.person@example\.com")
    page.click("sign-in")
    page.until_logged(r"Signed in as draft\.person@example\.com")
    assert not alert.is_displayed()

    page.type("title", "Draft")
    page.element("file").send_keys(str(video_file))
    hold_requests_for_part(browser, 2)
    page.click("start")
    page.until_logged(rf"Part 1 of {PART_COUNT} uploaded\.")
    upload_id = browser.execute_script(
        "return JSON.parse(localStorage.getItem('itube-demo:upload')).id")
    page.click("cancel")
    page.until_logged(r"Upload cancelled\.")
    browser.execute_cdp_cmd("Fetch.disable", {})
    assert not alert.is_displayed(), alert.text
    assert browser.execute_script("return localStorage.getItem('itube-demo:upload')") is None

    cookies = {cookie["name"]: cookie["value"] for cookie in browser.get_cookies()}
    gone = httpx.get(f"{server.url}/api/v1/upload/videos/multipart/{upload_id}",
                     cookies=cookies, timeout=10)
    assert gone.status_code == 404, gone.text

    page.collect_logs()
    # The refused sign-in is the one failed request the browser reports.
    errors = [entry for entry in page.console if entry["level"] == "SEVERE"
              and not (entry["source"] == "network" and "/api/v1/auth/login" in entry["message"])]
    assert errors == [], errors
