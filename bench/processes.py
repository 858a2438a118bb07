"""Server processes under test: started pinned to the server core, ready-checked, their
memory read, always stopped."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import httpx

from bench.wrk import pinned
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[1]
SERVER_CPU = "0"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
READY_SECONDS = 90


@attrs.frozen
class Server:
    base: str
    pid: int

    def cpu_seconds(self) -> float:
        """CPU time (user + system) spent so far by the process and its workers."""
        return sum(_cpu_seconds(pid) for pid in [self.pid, *_children(self.pid)])

    def rss_per_worker_mib(self) -> list[float]:
        """Resident memory of each process answering requests: the workers under a
        supervisor, else the process itself."""
        workers = [pid for pid in _children(self.pid) if not _is_helper(pid)] or [self.pid]
        return [_rss_kib(pid) / 1024 for pid in workers]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        # Fields after the command's closing parenthesis: utime and stime are 14th and 15th.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # a worker that has just exited
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def _is_helper(pid: int) -> bool:
    """multiprocessing's resource tracker, which a supervisor starts beside its workers."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def uvicorn_command(app: str, port: int, factory: bool = False) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1", "--loop", "uvloop", "--http", "httptools",
            "--log-level", "warning", "--no-access-log", *(["--factory"] if factory else [])]


def itube_command(config: Path, port: int, workers: int) -> list[str]:
    itube = Path(sys.executable).with_name("itube")
    return [str(itube), "serve", "--config", str(config), "--host", "127.0.0.1",
            "--port", str(port), "--workers", str(workers)]


@contextlib.contextmanager
def serving(command_for: Callable[[int], list[str]], env: dict[str, str], ready: str, log: Path,
            cpus: str = SERVER_CPU, code: Path = ROOT) -> Iterator[Server]:
    """Run `command_for(port)` on `cpus`, importing the packages under `code`; yields the
    Server once `ready` answers 200, and stops the process whatever happens."""
    port = free_port()
    command = command_for(port)
    with log.open("wb") as output:
        process = subprocess.Popen(pinned(command, cpus), cwd=code,
                                   env={**os.environ, **env, "PYTHONPATH": str(code)},
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(process, base + ready, log)
        yield Server(base=base, pid=process.pid)
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_ready(process: subprocess.Popen[bytes], url: str, log: Path,
               seconds: float = READY_SECONDS) -> None:
    """Until `url` answers 200; the server's log in the error when it exits or is late."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{url}: not ready within {seconds:g} s:\n"
                       f"{log.read_text(errors='replace')[-4000:]}")
