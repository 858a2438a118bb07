"""Kernel test fixtures: configs without any plugin but the ones a test names, captured
JSON log lines, and the `hooks` marker that ties tests to the hookspecs they exercise."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from core.config import Config, config_from_dict
from core.log import JsonFormatter, flush_logging


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "hooks(*names): the kernel hooks this test exercises (see test_hook_coverage)"
    )


def _config_factory(url: str) -> Callable[..., Config]:
    def make(plugin_names: list[str] | None = None, *, environ: dict[str, str] | None = None,
             **sections: Any) -> Config:
        data: dict[str, Any] = {
            "app": {"plugins": list(plugin_names or [])},
            "database": {"url": url, "migrate_on_start": True},
            "logging": {"access_log": False},
            "server": {"freeze_heap_after_startup": False},  # many apps in one process
        }
        for name, section in sections.items():
            data.setdefault(name, {}).update(section)
        return config_from_dict(data, source="<test>", environ=environ or {})

    return make


@pytest.fixture
def kernel_config(sqlite_url: str) -> Callable[..., Config]:
    """`kernel_config(["tests.core.example_plugin"], http={...})`: SQLite in a temp dir, no
    AWS emulation; for tests about HTTP, plugins and config rather than the database."""
    return _config_factory(sqlite_url)


@pytest.fixture
def db_config(db_url: str) -> Callable[..., Config]:
    """Like `kernel_config`, on both database backends (the `db_url` parametrisation)."""
    return _config_factory(db_url)


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The JSON lines the `itube` loggers wrote during the test, as dicts."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("itube")
    previous_level = logger.level
    flush_logging()  # lines an earlier test queued are not this test's
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)

    def lines() -> list[dict[str, Any]]:
        flush_logging()  # access lines reach this handler through the log writer
        return [orjson.loads(line) for line in stream.getvalue().splitlines() if line]

    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
