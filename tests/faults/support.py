"""What the fault tests share: configs pointed through a `FaultProxy`, a real uvicorn
process, and the one shape every fault answer must have."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from core.config import Config, config_from_dict
from tests.support.server import UvicornProcess

ROOT = Path(__file__).resolve().parents[2]
VIDEOS = "/api/v1/upload/videos"
USER = {"X-Test-User": "alice"}
SERVICE = {"X-Test-Service": "transcoder"}


def through(url: str, port: int) -> str:
    """`url` with its host and port replaced by the proxy's (127.0.0.1:`port`)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def upstream_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname and parts.port, url
    return parts.hostname, parts.port


def app_config(database_url: str, aws_endpoint: str, plugins: list[str],
               **sections: Any) -> Config:
    """The video plugin and the stand-in auth plugins over local AWS at `aws_endpoint`."""
    plugin_settings = sections.pop("plugins", {})
    data: dict[str, Any] = {
        "app": {"plugins": ["local_aws", *plugins, "tests.support.stand_in_plugins"]},
        "database": {"url": database_url, "migrate_on_start": True},
        "logging": {"access_log": False},
        "server": {"freeze_heap_after_startup": False},
        "plugins": {"local_aws": {"endpoint_url": aws_endpoint}, **plugin_settings},
    }
    for name, section in sections.items():
        data.setdefault(name, {}).update(section)
    return config_from_dict(data, source="<faults>", environ={})


def assert_unavailable(response: Any) -> dict[str, Any]:
    """A dependency fault: 503 problem+json with Retry-After, never a 500 or a trace."""
    assert response.status_code == 503, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    body = response.json()
    assert body["status"] == 503 and body["title"] == "Service Unavailable"
    assert "Traceback" not in response.text
    return body


def timed(call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """`call(*args, **kwargs)` and how long it took."""
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


class ItubeServer(UvicornProcess):
    """The API in a uvicorn process of its own, from the TOML text `config_toml`."""

    def __init__(self, config_toml: str, tmp_path: Path, port: int):
        config = tmp_path / "itube.toml"
        config.write_text(config_toml, encoding="utf-8")
        super().__init__(config, tmp_path / "server.log", port=port)

