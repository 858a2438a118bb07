"""Where a running server spends its time under load: py-spy samples the server's process
while wrk drives one URL, then the functions that hold the most samples are printed.

    .venv/bin/python -m bench.profile --pid PID http://127.0.0.1:8000/api/v1/upload/videos/ID
    .venv/bin/python -m bench.profile --pid PID --header "Cookie: access_token=..." URL

Start the server yourself (`make serve`, or `itube serve --config ...` for PostgreSQL and
Redis), one worker, and give its pid (`pgrep -f "itube serve"`). py-spy needs root (or
ptrace rights over the process). `--out FILE` keeps the collapsed stacks for a flame graph.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.wrk import parse_wrk

RATE = 250  # samples per second


def record(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
         "--rate", str(RATE),
         "--duration", str(int(seconds)), "--format", "raw", "--output", str(out),
         "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def load(url: str, seconds: float, connections: int, headers: list[str]) -> str:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    for header in headers:
        command += ["-H", header]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def top_functions(collapsed: str, limit: int) -> list[tuple[str, float, float]]:
    """(function, self %, total %) of the `limit` functions holding the most samples."""
    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            anywhere[frame] += count
    if not samples:
        return []
    return [(frame, 100 * count / samples, 100 * anywhere[frame] / samples)
            for frame, count in own.most_common(limit)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("--pid", type=int, required=True, help="the server process to sample")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--header", action="append", default=[], help="sent with every request")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="keep the collapsed stacks here")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="itube-profile-")) / "stacks.txt"
    sampler = record(args.pid, args.seconds, out)
    figures = parse_wrk(load(args.url, args.seconds, args.connections, args.header))
    _, errors = sampler.communicate()
    if sampler.returncode != 0:
        print(f"py-spy failed: {errors.decode(errors='replace').strip()}", file=sys.stderr)
        return 1
    print(f"{figures.per_second:,.0f} req/s, p99 {figures.p99_ms:.1f} ms, "
          f"{figures.non_2xx} non-2xx; stacks in {out}")
    print(f"{'self %':>7} {'total %':>8}  function")
    for frame, own, total in top_functions(out.read_text(), args.top):
        print(f"{own:7.1f} {total:8.1f}  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
