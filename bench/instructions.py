"""Instructions a server executes per request, counted by callgrind: the same count for the
same build and requests whatever else the machine does, where its time per request moves
by ±15% here. Two builds or two configurations compared this way differ by what their
code does; what the kernel does for them (system calls, waking the client) is not counted.

    .venv/bin/python -m bench.instructions --config itube.toml /api/v1/upload/videos/ID
    .venv/bin/python -m bench.instructions --config itube.toml --code ../other-build PATH
    .venv/bin/python -m bench.instructions --config a.toml --ids ids '/api/v1/upload/videos/{id}'

The server (`itube serve`, one worker) runs under `valgrind --tool=callgrind` with counting
off; it is warmed with `--warm` requests, counted over `--requests` more, one after another
on one kept-alive connection, then stopped. With `--ids`, each request asks for the next id
of the file in the path's `{id}` (no id twice: an uncached walk). Printed: instructions per
request, in all and for each thread (the event loop's first). Needs valgrind (Debian's
package).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.processes import ROOT, itube_command, wait_ready
from tests.support.services import free_port

READY_SECONDS = 600  # under valgrind a server starts some fifty times slower
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)
_THREAD = re.compile(r"-(\d+)$")


def counted_by_thread(folder: Path, prefix: str) -> dict[int, int]:
    """Instructions counted in each thread, from the files callgrind wrote as
    `prefix.<part>-<thread>`: the parts' counts summed per thread."""
    counts: dict[int, int] = {}
    for path in folder.glob(prefix + "*"):
        thread = _THREAD.search(path.name)
        found = _TOTALS.search(path.read_text(errors="replace"))
        if thread and found:
            number = int(thread.group(1))
            counts[number] = counts.get(number, 0) + int(found.group(1))
    return dict(sorted(counts.items()))


def _callgrind(command: list[str], out: Path) -> list[str]:
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--separate-threads=yes",
            f"--callgrind-out-file={out}", *command]


def request_paths(path: str, ids: list[str] | None, count: int) -> Iterator[str]:
    """The path of each of `count` requests: `path` each time, or with `{id}` replaced by
    each of `ids` in turn."""
    if ids is None:
        return itertools.repeat(path, count)
    if "{id}" not in path or len(ids) < count:
        raise ValueError(f"walking ids needs {{id}} in the path and {count:,} ids "
                         f"(the file has {len(ids):,})")
    return (path.replace("{id}", video_id) for video_id in ids[:count])


def _requests(client: httpx.Client, paths: Iterator[str], count: int) -> None:
    for path in itertools.islice(paths, count):
        answer = client.get(path)
        if answer.status_code >= 400:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=60)


def count(config: Path, paths: Iterator[str], *, requests: int, warm: int, code: Path,
          folder: Path) -> dict[int, int]:
    """Instructions per request of `itube serve --config config` (imported from `code`)
    answering `warm` then `requests` of `paths`, by thread."""
    port = free_port()
    out = folder / "callgrind.out"
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(_callgrind(itube_command(config, port, 1), out), cwd=code,
                                   env={**os.environ, "PYTHONPATH": str(code)},
                                   stdout=output, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(process, base + "/readyz", log, READY_SECONDS)
        with httpx.Client(base_url=base, timeout=60) as client:
            _requests(client, paths, warm)
            _control("-i", "on", str(process.pid))
            _requests(client, paths, requests)
            _control("-i", "off", str(process.pid))
        _control("-d", str(process.pid))
    finally:
        process.terminate()
        process.wait(120)
    return {thread: total // requests
            for thread, total in counted_by_thread(folder, out.name).items() if total}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", help="the request's path, e.g. /api/v1/upload/videos/ID")
    parser.add_argument("--config", type=Path, required=True, help="the server's TOML")
    parser.add_argument("--code", type=Path, default=ROOT, help="the build to import")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=300)
    parser.add_argument("--ids", type=Path,
                        help="a file of ids, one a line, each asked for once in PATH's {id}")
    args = parser.parse_args(argv)
    ids = args.ids.read_text(encoding="utf-8").split() if args.ids else None
    paths = request_paths(args.path, ids, args.warm + args.requests)
    with tempfile.TemporaryDirectory(prefix="itube-instructions-") as folder:
        by_thread = count(args.config.resolve(), paths, requests=args.requests,
                          warm=args.warm, code=args.code.resolve(), folder=Path(folder))
    print(f"{sum(by_thread.values()):,} instructions a request")
    for thread, per_request in by_thread.items():
        print(f"  thread {thread}: {per_request:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
