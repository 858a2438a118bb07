"""A server the `serve` fixture started leaves no process behind, even when its test fails
without stopping it: the master and its workers are one process group, stopped together."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

from tests.server.conftest import Served, serving
from tests.support.process_group import children_of, group_members, is_alive


class FailedOnPurpose(Exception):
    pass


def _workers(served: Served, count: int, timeout: float = 60) -> set[int]:
    """The master's worker processes, once `count` of them have started serving."""
    deadline = time.monotonic() + timeout
    while True:
        started = set(re.findall(r"Started server process \[(\d+)\]", served.log_text()))
        workers = children_of(served.process.pid)
        if len(started) >= count and {int(pid) for pid in started} <= workers:
            return workers
        served.assert_running()
        assert time.monotonic() < deadline, f"{count} workers not started:\n{served.log_text()}"
        time.sleep(0.05)


def test_a_failing_test_leaves_no_worker_running(tmp_path: Path):
    with pytest.raises(FailedOnPurpose), serving(tmp_path) as start:
        served = start(args=["--workers", "2"])
        served.wait_ready()
        master = served.process.pid
        workers = _workers(served, 2)
        group = group_members(master)
        assert os.getpgid(master) == master != os.getpgrp()
        assert {master, *workers} <= group
        raise FailedOnPurpose  # the test fails with the server still running
    assert not group_members(master)
    assert not [pid for pid in group if is_alive(pid)]
