"""A second worker process of a test's app: the same provider, database, Redis and AWS
emulation, served by a real uvicorn process of its own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.auth.conftest import CHEAP_ARGON2
from tests.support.server import UvicornProcess


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value)  # a number, or a string (JSON's escapes are TOML's)


def _section(name: str, values: dict[str, Any]) -> str:
    lines = [f"[{name}]", *(f"{key} = {_toml_value(value)}" for key, value in values.items())]
    return "\n".join(lines) + "\n"


def peer_config(plugin: str, *, db_url: str, moto_endpoint: str, redis_url: str,
                redis_prefix: str, settings: dict[str, Any]) -> str:
    provider = {**(CHEAP_ARGON2 if plugin == "auth_local" else {}), **settings}
    return "\n".join([
        _section("app", {"plugins": ["local_aws", "cache_redis", plugin]}),
        _section("database", {"url": db_url, "migrate_on_start": True}),
        _section("logging", {"access_log": False}),
        _section("plugins.local_aws", {"endpoint_url": moto_endpoint}),
        _section("plugins.cache_redis", {"url": redis_url, "key_prefix": redis_prefix}),
        _section(f"plugins.{plugin}", provider),
    ])


def start_peer(folder: Path, config: str) -> UvicornProcess:
    path = folder / "peer.toml"
    path.write_text(config, encoding="utf-8")
    server = UvicornProcess(path, folder / "peer.log")
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        raise
    return server
