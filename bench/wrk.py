"""Running wrk and reading what it prints.

wrk runs pinned to its own core (`taskset -c WRK_CPU`) when taskset exists, so the server
under test keeps the other core to itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import attrs

WRK_CPU = "1"
THREADS = 2
TIMEOUT_SECONDS = 5  # a request waiting longer counts as a wrk timeout


@attrs.frozen
class Load:
    """One wrk run: throughput, latency (ms) and what went wrong."""

    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    timeouts: int
    # The server's own CPU time (user + system, every worker) per answer, in µs: read
    # from /proc around the run, steadier than req/s when other work shares the machine.
    cpu_us: float = 0.0

    @property
    def failures(self) -> int:
        """Answers that make the figure not count: non-2xx, socket errors and timeouts."""
        return self.non_2xx + self.socket_errors + self.timeouts

    @property
    def counts(self) -> bool:
        return self.requests > 0 and self.failures == 0

    def failure_text(self) -> str:
        """What went wrong, e.g. "3 non-2xx, 35 timeouts"; "" when nothing did."""
        kinds = {"non-2xx": self.non_2xx, "socket errors": self.socket_errors,
                 "timeouts": self.timeouts}
        return ", ".join(f"{count} {kind}" for kind, count in kinds.items() if count)


UNIT_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * UNIT_MS[match[2]]


def parse_wrk(output: str) -> Load:
    def find(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output, re.MULTILINE)
        return match[1] if match else default

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    counts = [int(n) for n in errors.groups()] if errors else [0, 0, 0, 0]
    return Load(
        requests=int(find(r"^\s*(\d+) requests in")),
        per_second=float(find(r"^Requests/sec:\s*([\d.]+)")),
        p50_ms=_ms(find(r"^\s*50%\s+(\S+)", "0ms")),
        p99_ms=_ms(find(r"^\s*99%\s+(\S+)", "0ms")),
        max_ms=_ms(find(r"^\s*Latency\s+\S+\s+\S+\s+(\S+)", "0ms")),
        non_2xx=int(find(r"Non-2xx or 3xx responses:\s*(\d+)")),
        socket_errors=sum(counts[:3]),
        timeouts=counts[3],
    )


def pinned(command: list[str], cpus: str) -> list[str]:
    """`command` run on the given CPUs only, where taskset exists."""
    return ["taskset", "-c", cpus, *command] if shutil.which("taskset") else command


def wrk(url: str, seconds: float, connections: int, script: Path | None = None,
        headers: dict[str, str] | None = None) -> Load:
    command = ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds:g}s",
               f"--timeout={TIMEOUT_SECONDS}s", "--latency"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    done = subprocess.run(pinned([*command, url], WRK_CPU), capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    return parse_wrk(done.stdout)


# Each wrk thread walks its own share of the paths in order: no path twice until all are
# used, so every answer is a cache miss while requests <= paths. A path's body, if any, is
# the same line of the bodies' file.
WALK_SCRIPT = """
local paths, bodies = {}, {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
%(read_bodies)slocal started = 0
function setup(thread)
  thread:set("first", started)
  started = started + 1
end
function init(args)
  position = first
end
function request()
  position = position + %(threads)d
  local index = position %% #paths + 1
  return wrk.format("%(method)s", paths[index], nil, bodies[index])
end
"""
READ_BODIES = """for line in io.lines("%(bodies)s") do bodies[#bodies + 1] = line end
"""

METHOD_SCRIPT = """
wrk.method = "%(method)s"
wrk.body = "%(body)s"
"""


def walk_script(folder: Path, name: str, paths: list[str], method: str = "GET",
                bodies: list[str] | None = None) -> Path:
    """A script sending `method` to each path in turn (with the body of the same index,
    when `bodies` are given: one line each, no line breaks in them)."""
    listing = folder / f"{name}.paths"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    read_bodies = ""
    if bodies is not None:
        if len(bodies) != len(paths) or any("\n" in body for body in bodies):
            raise ValueError("one body a path, each on one line")
        body_file = folder / f"{name}.bodies"
        body_file.write_text("\n".join(bodies) + "\n", encoding="utf-8")
        read_bodies = READ_BODIES % {"bodies": body_file}
    script = folder / f"{name}.lua"
    script.write_text(WALK_SCRIPT % {"paths": listing, "threads": THREADS, "method": method,
                                     "read_bodies": read_bodies}, encoding="utf-8")
    return script


def method_script(folder: Path, method: str, body: str = "") -> Path:
    """A script sending `method` with `body` (no quotes or backslashes in it)."""
    if '"' in body or "\\" in body:
        raise ValueError("the body must not hold quotes or backslashes")
    script = folder / f"{method.lower()}.lua"
    script.write_text(METHOD_SCRIPT % {"method": method, "body": body}, encoding="utf-8")
    return script
