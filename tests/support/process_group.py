"""Server processes in a session of their own, stopped with every process they started.

A server with workers is a master and its children: stopping only the master (or killing
it) can leave the workers running, holding their port and CPU, after a failing test.
Started with `start_new_session=True`, the master leads a process group that its workers
join, and `stop_group` signals the whole group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """A process's /proc stat fields after its name (state, ppid, pgrp, …); None once gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def is_alive(pid: int) -> bool:
    """Whether `pid` still runs: a zombie (exited, not yet reaped) no longer does."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _live_processes() -> list[tuple[int, list[str]]]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and fields[0] not in ("Z", "X"):
                found.append((int(entry.name), fields))
    return found


def group_members(group: int) -> set[int]:
    """The running processes of process group `group`."""
    return {pid for pid, fields in _live_processes() if int(fields[2]) == group}


def children_of(parent: int) -> set[int]:
    """The running processes whose parent is `parent`."""
    return {pid for pid, fields in _live_processes() if int(fields[1]) == parent}


def _signal_group(group: int, sig: signal.Signals) -> None:
    # Only while a member runs: an empty group's number may be reused.
    if group_members(group):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, sig)


def _wait_gone(process: subprocess.Popen[bytes], group: int, timeout: float) -> bool:
    """Until the leader has exited (and is reaped) and no member of its group runs."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None and not group_members(group):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def stop_group(process: subprocess.Popen[bytes], timeout: float = 10) -> int | None:
    """Stop `process` (started with `start_new_session=True`) and every process of its
    group: SIGTERM, then SIGKILL to the group when any is left after `timeout` seconds.
    The leader's exit status (None if even SIGKILL left it running)."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    if not _wait_gone(process, group, timeout):
        _signal_group(group, signal.SIGKILL)
        _wait_gone(process, group, timeout)
    return process.poll()
