"""Headless Chromium through Debian's chromedriver, and the embedded default served by a
real uvicorn process for it to browse."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.support.server import UvicornProcess
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ITUBE = Path(sys.executable).parent / "itube"

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian's chromium and chromium-driver): "
    "run `make browser-ready`",
)


def embedded_default(tmp_path: Path, port: int, emulator_port: int) -> str:
    """config/default.toml (the demo on, its origins allowed by the buckets' CORS rules) on
    free ports, its SQLite file in `tmp_path`."""
    text = (REPO / "config" / "default.toml").read_text()
    for old, new in (
        ("port = 8000", f"port = {port}"),
        ('"http://127.0.0.1:8000"', f'"http://127.0.0.1:{port}"'),
        ("port = 4566", f"port = {emulator_port}"),
        ("http://127.0.0.1:4566", f"http://127.0.0.1:{emulator_port}"),
        ('url = "sqlite:///var/itube.db"', f'url = "sqlite:///{tmp_path}/itube.db"'),
    ):
        assert old in text, f"config/default.toml no longer says {old!r}"
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def serving_embedded_default(tmp_path: Path) -> Iterator[UvicornProcess]:
    port = free_port()
    config = tmp_path / "itube.toml"
    config.write_text(embedded_default(tmp_path, port, free_port()), encoding="utf-8")
    server = UvicornProcess(config, tmp_path / "server.log", port=port)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def run_transcoder_once(server: UvicornProcess, config: Path) -> str:
    """`itube transcoder-example --once` against the server: what it reported. It must
    not fail: the emulator announces a completed multipart upload twice
    (`ObjectCreated:Put` and `:CompleteMultipartUpload`), and the example reports a key
    once."""
    done = subprocess.run(
        [str(ITUBE), "--config", str(config), "transcoder-example", "--once",
         "--api-url", server.url, "--wait-seconds", "1"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def chromium(downloads: Path) -> Any:
    """Headless Chromium (as root: no sandbox) keeping its console and network logs."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--disable-gpu", "--window-size=1200,1000",
                     "--no-first-run", "--no-default-browser-check",
                     f"--user-data-dir={downloads / 'profile'}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def requests_sent(performance_log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The requests the page sent (`Network.requestWillBeSent`), from a performance log."""
    sent = []
    for entry in performance_log:
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            sent.append(message["params"]["request"])
    return sent
