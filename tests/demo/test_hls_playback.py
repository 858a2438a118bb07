"""A private video plays as HLS in headless Chromium, on both databases: a real H.264 file
made with ffmpeg is uploaded from the demo page, the example transcoder makes its ladder,
and the page plays it through hls.js from the rewritten playlists (segments presigned on
the S3 emulator). A share link made in the page plays the same in a fresh browser with no
session, until it is revoked: then the shared page shows an error instead."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.demo.browser import (
    chromium,
    emulator_url,
    make_test_video,
    needs_chromium,
    needs_ffmpeg,
    run_transcoder_once,
    serving_embedded_default,
)
from tests.demo.page import Page
from tests.support.server import UvicornProcess

pytestmark = [pytest.mark.slow, needs_chromium, needs_ffmpeg]

PASSWORD = "SecurePass123!"
VIDEO_SECONDS = 3
TITLE = "Test pattern"
PLAYING = rf"Ready to play: {TITLE} \(HLS through hls\.js\)\."


@pytest.fixture
def server(tmp_path: Path, db_url: str) -> Iterator[UvicornProcess]:
    with serving_embedded_default(tmp_path, db_url) as served:
        yield served


@pytest.fixture
def owner_browser(tmp_path: Path) -> Iterator[Any]:
    driver = chromium(tmp_path / "owner")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def guest_browser(tmp_path: Path) -> Iterator[Any]:
    """A second browser with a profile of its own: none of the owner's cookies or storage."""
    driver = chromium(tmp_path / "guest")
    try:
        yield driver
    finally:
        driver.quit()


def upload_private_video(page: Page, server: UvicornProcess, config: Path,
                         video_file: Path) -> str:
    """Signs up and in, uploads `video_file` as a PRIVATE video and runs the example
    transcoder until the page shows it COMPLETED: the video's id."""
    page.open()
    page.type("name", "Hls Person")
    page.type("email", "hls.person@example.com")
    page.type("password", PASSWORD)
    page.click("sign-up")
    page.until_logged(r"Account created for hls\.person@example\.com")
    page.click("sign-in")
    page.until_logged(r"Signed in as hls\.person@example\.com")
    page.type("title", TITLE)
    assert page.element("visibility").get_attribute("value") == "PRIVATE"
    page.element("file").send_keys(str(video_file))
    page.click("start")
    video_id = page.until_logged(r"Saved: video [0-9a-f-]{36}\.").split()[-1].rstrip(".")
    page.until_status("IN_PROGRESS")
    reports: list[str] = []
    page.until_status("COMPLETED", while_waiting=lambda: reports.append(
        run_transcoder_once(server, config)))
    assert any(f"video {video_id} is COMPLETED" in report for report in reports), reports
    return video_id


def assert_plays_hls(page: Page, playlists_under: str, emulator: str) -> None:
    """The page plays the video's own ladder through hls.js: past half a second, with data
    ahead; its playlists from `playlists_under` on the API, its segments presigned on the
    emulator; and the console logs no error."""
    page.until_logged(PLAYING)
    state = page.until_playing_past(0.5)
    assert state["src"].startswith("blob:"), "hls.js feeds the player (Media Source)"
    assert abs(state["duration"] - VIDEO_SECONDS) < 0.5, "the uploaded video's own ladder"
    assert page.element("player").is_displayed()

    fetched = page.resource_urls()
    playlists = [url for url in fetched if urlsplit(url).path.endswith(".m3u8")]
    assert f"{page.url}{playlists_under}.m3u8" in playlists, fetched
    assert any(url.startswith(f"{page.url}{playlists_under}/") for url in playlists), fetched
    assert all(url.startswith(f"{page.url}{playlists_under}") for url in playlists), fetched
    segments = [url for url in fetched if urlsplit(url).path.endswith(".ts")]
    assert segments, fetched
    for segment in segments:
        assert segment.startswith(f"{emulator}/"), segment
        assert parse_qs(urlsplit(segment).query)["X-Amz-Signature"], segment
    assert page.console_errors() == []


def test_a_private_video_plays_as_hls_for_its_owner_and_through_a_share_link_until_revoked(
        server, owner_browser, guest_browser, tmp_path):
    config = tmp_path / "itube.toml"
    emulator = emulator_url(config)
    owner = Page(owner_browser, server.url)
    video_id = upload_private_video(owner, server, config,
                                    make_test_video(tmp_path / "pattern.mp4", VIDEO_SECONDS))
    assert_plays_hls(owner, f"/api/v1/upload/videos/{video_id}/playback", emulator)

    owner.click("share")
    owner.until_logged(r"Share link made")
    link = owner.element("share-link")
    address = link.get_attribute("href")
    assert address.startswith(f"{server.url}/demo#shared=")
    assert link.text == address
    token = address.split("#shared=", 1)[1]

    guest = Page(guest_browser, server.url)
    guest.open(address)
    assert guest_browser.get_cookies() == []
    assert not guest.element("account").is_displayed()
    assert not guest.element("upload").is_displayed()
    assert_plays_hls(guest, f"/api/v1/shared/{token}/playback", emulator)

    owner_cookies = {cookie["name"]: cookie["value"] for cookie in owner_browser.get_cookies()}
    revoked = httpx.delete(
        f"{server.url}/api/v1/upload/videos/{video_id}/shares/"
        f"{link.get_attribute('data-share-id')}", cookies=owner_cookies, timeout=10)
    assert revoked.status_code == 204, revoked.text

    guest.reload()
    alert = guest.element("error")
    assert alert.is_displayed()
    assert alert.text.startswith("This share link opens nothing")
    assert not guest.element("player").is_displayed()
    assert guest.player_state()["src"] == ""
    # The refused link is the one failed request the browser reports.
    assert guest.console_errors(allowed=r"/api/v1/shared/") == []


def test_hls_errors_are_noted_while_hls_js_recovers_and_shown_when_it_gives_up(
        server, owner_browser, tmp_path):
    page = Page(owner_browser, server.url)
    # Every variant playlist fails in the browser; the master playlist loads.
    owner_browser.execute_cdp_cmd("Network.enable", {})
    owner_browser.execute_cdp_cmd("Network.setBlockedURLs",
                                  {"urls": ["*/playback/*.m3u8*"]})
    upload_private_video(page, server, tmp_path / "itube.toml",
                         make_test_video(tmp_path / "pattern.mp4", VIDEO_SECONDS))

    page.until_logged(PLAYING)
    page.until_logged(r"Playback: hls\.js reports levelLoadError and carries on\.")
    alert = page.element("error")
    page.wait.until(lambda _: alert.is_displayed())
    assert alert.text == "The video cannot be played: networkError (levelLoadError)."
    assert not page.element("player").is_displayed()
    assert page.console_errors(allowed=r"/playback/v\d/index\.m3u8") == []
