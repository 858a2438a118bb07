"""The demo page as a person uses it in a browser, and what the browser saw meanwhile
(its console, the requests it sent)."""

from __future__ import annotations

import re
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.demo.browser import requests_sent

WAIT_SECONDS = 60
# What the player element shows of its playback.
PLAYER_STATE = """
const player = document.getElementById("player");
return {current_time: player.currentTime, duration: player.duration,
        ready_state: player.readyState, src: player.src, hidden: player.hidden};
"""
# Every URL the page fetched, as the page itself records them (Resource Timing).
RESOURCE_URLS = 'return performance.getEntriesByType("resource").map((entry) => entry.name);'


class Page:
    """The demo page as a person uses it, in `driver`."""

    def __init__(self, driver: Any, url: str) -> None:
        self.driver = driver
        self.url = url
        self.wait = WebDriverWait(driver, WAIT_SECONDS)
        self.console: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    def element(self, element_id: str) -> Any:
        return self.driver.find_element(By.ID, element_id)

    def text(self, element_id: str) -> str:
        return str(self.element(element_id).text)

    def open(self, address: str | None = None) -> None:
        """The page at `/demo`, or at `address` (a share link's)."""
        self.driver.get(address or f"{self.url}/demo")
        self.until_ready()

    def reload(self) -> None:
        self.driver.refresh()
        self.until_ready()

    def until_ready(self) -> None:
        self.wait.until(lambda d: d.execute_script("return document.body.dataset.ready"))

    def type(self, element_id: str, text: str) -> None:
        field = self.element(element_id)
        field.clear()
        field.send_keys(text)

    def click(self, element_id: str) -> None:
        self.element(element_id).click()

    def until_logged(self, pattern: str) -> str:
        """Waits for a line of the page's log matching `pattern`; fails on a shown error."""

        def logged(_: Any) -> str | None:
            error = self.element("error")
            assert not error.is_displayed(), f"the page shows an error: {error.text}"
            found = re.search(pattern, self.text("log"))
            return found.group(0) if found else None

        return str(self.wait.until(logged, f"no log line like {pattern!r}: {self.text('log')}"))

    def until_status(self, status: str, while_waiting: Any = None) -> None:
        def reached(_: Any) -> bool:
            if while_waiting is not None:
                while_waiting()
            return self.text("status") == status

        self.wait.until(reached, f"the status never became {status}: {self.text('status')}")

    def player_state(self) -> dict[str, Any]:
        return dict(self.driver.execute_script(PLAYER_STATE))

    def until_playing_past(self, seconds: float) -> dict[str, Any]:
        """Waits until the player has played beyond `seconds` with data ahead of it (ready
        state 3 or more, in the same look); fails on a shown error."""

        def playing(_: Any) -> dict[str, Any] | None:
            error = self.element("error")
            assert not error.is_displayed(), f"the page shows an error: {error.text}"
            state = self.player_state()
            return state if state["current_time"] > seconds and state["ready_state"] >= 3 \
                else None

        found = self.wait.until(playing, f"never played past {seconds}s")
        assert found is not None
        return found

    def resource_urls(self) -> list[str]:
        return [str(url) for url in self.driver.execute_script(RESOURCE_URLS)]

    def console_errors(self, allowed: str | None = None) -> list[dict[str, Any]]:
        """The console's errors so far, but for failed requests to a URL matching
        `allowed`."""
        self.collect_logs()
        return [entry for entry in self.console if entry["level"] == "SEVERE"
                and not (allowed and entry["source"] == "network"
                         and re.search(allowed, entry["message"]))]

    def collect_logs(self) -> None:
        """Move what the browser logged so far (console, network) into this object."""
        self.console += self.driver.get_log("browser")
        self.requests += requests_sent(self.driver.get_log("performance"))

    def part_uploads(self) -> list[dict[str, Any]]:
        """The part PUTs sent to S3 since the last call, oldest first."""
        self.collect_logs()
        uploads = self._part_puts()
        self.requests = []
        return uploads

    def until_part_sent(self, number: int) -> None:
        """Waits until the page has sent (or Chromium holds) the PUT of part `number`."""

        def sent(_: Any) -> bool:
            self.collect_logs()
            return number in [part_number(request) for request in self._part_puts()]

        self.wait.until(sent, f"part {number} was never sent")

    def _part_puts(self) -> list[dict[str, Any]]:
        return [request for request in self.requests
                if request["method"] == "PUT" and "partNumber=" in request["url"]]


def part_number(request: dict[str, Any]) -> int:
    found = re.search(r"[?&]partNumber=(\d+)", request["url"])
    assert found, request["url"]
    return int(found.group(1))


def hold_requests_for_part(driver: Any, number: int) -> None:
    """Chromium keeps every request for part `number` waiting before it leaves (until
    the page goes away), so a reload is certain to interrupt the upload there."""
    driver.execute_cdp_cmd("Fetch.enable", {"patterns": [
        {"urlPattern": pattern, "requestStage": "Request"}
        for pattern in (f"*partNumber={number}&*", f"*partNumber={number}")
    ]})
