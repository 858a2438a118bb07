"""Headless Chromium through Debian's chromedriver, and the embedded default served by a
real uvicorn process for it to browse."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from plugins.local_aws.config import LocalAwsSettings
from tests.support.server import UvicornProcess
from tests.support.services import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ITUBE = Path(sys.executable).parent / "itube"
FFMPEG = shutil.which("ffmpeg")

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason=f"needs {CHROMIUM} and {CHROMEDRIVER} (Debian's chromium and chromium-driver): "
    "run `make browser-ready`",
)
needs_ffmpeg = pytest.mark.skipif(
    FFMPEG is None,
    reason="needs ffmpeg, to make a real video and its HLS ladder: `make browser-ready` "
    "installs Debian's",
)


def embedded_default(tmp_path: Path, port: int, emulator_port: int,
                     database_url: str | None = None) -> str:
    """config/default.toml (the demo on, its origins allowed by the buckets' CORS rules) on
    free ports, on `database_url` or else a SQLite file in `tmp_path`."""
    text = (REPO / "config" / "default.toml").read_text()
    database_url = database_url or f"sqlite:///{tmp_path}/itube.db"
    for old, new in (
        ("port = 8000", f"port = {port}"),
        ('"http://127.0.0.1:8000"', f'"http://127.0.0.1:{port}"'),
        ("port = 4566", f"port = {emulator_port}"),
        ("http://127.0.0.1:4566", f"http://127.0.0.1:{emulator_port}"),
        ('url = "sqlite:///var/itube.db"', f'url = "{database_url}"'),
    ):
        assert old in text, f"config/default.toml no longer says {old!r}"
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def serving_embedded_default(tmp_path: Path,
                             database_url: str | None = None) -> Iterator[UvicornProcess]:
    port = free_port()
    config = tmp_path / "itube.toml"
    config.write_text(embedded_default(tmp_path, port, free_port(), database_url),
                      encoding="utf-8")
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


def emulator_url(config: Path) -> str:
    """The endpoint of the S3 emulator a config written by `embedded_default` runs."""
    settings = tomllib.loads(config.read_text(encoding="utf-8"))
    return str(settings["plugins"]["transcoder_example"]["aws_endpoint_url"])


def processed_object(config: Path, key: str) -> bytes:
    """The object at `key` in the processed bucket of the emulator `config` runs, its bytes
    as stored (the caller compares them; the emulator's copy keeps the upload's composite
    checksum, which botocore would misread as the whole object's)."""
    s3 = boto3.client("s3", endpoint_url=emulator_url(config), region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=BotoConfig(signature_version="s3v4",
                                        response_checksum_validation="when_required"))
    found = s3.get_object(Bucket=LocalAwsSettings().processed_bucket, Key=key)
    return bytes(found["Body"].read())


def make_test_video(path: Path, seconds: int = 3) -> Path:
    """`seconds` of ffmpeg's test pattern as H.264 in MP4 (a few tens of KB) at `path`."""
    subprocess.run(
        [str(FFMPEG), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=320x240:rate=25",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)],
        check=True, capture_output=True, timeout=60,
    )
    return path


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
