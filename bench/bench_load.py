"""The load table of docs/benchmarks.md: every hot itube route beside a bare baseline
doing the same irreducible work, with wrk against real server processes.

    make bench BENCH_ARGS=load               # the full run: about 20 minutes
    make bench BENCH_ARGS="load --quick"     # a try in a few minutes (not written to docs/)

Servers pinned to core 0, wrk to core 1; ROUNDS interleaved rounds, medians of same-round
ratios; a figure counts only with 0 non-2xx answers. The rows, the targets and the servers
are in bench/scenarios.py and bench/servers.py. The full run writes docs/benchmarks.md and
docs/benchmarks.png; quick mode writes them to a temporary folder and says where.

Environment: ITUBE_BENCH_VIDEOS (1,000,000), ITUBE_BENCH_ROUNDS (4), ITUBE_BENCH_SECONDS
(8 measured per target), ITUBE_BENCH_WARMUP (2), ITUBE_BENCH_CONNECTIONS (64),
ITUBE_BENCH_REDIS (redis://127.0.0.1:6379/0), ITUBE_BENCH_OUTPUT (where to write).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs
import httpx
import redis
from moto.server import ThreadedMotoServer

from bench import chart, machine
from bench.accounts import access_cookie
from bench.figures import figure, row_result
from bench.processes import ROOT, Server, serving
from bench.report import Run, markdown
from bench.rounds import FRESH_WALKS, Options, Stage, id_slices, run_rounds
from bench.scenarios import P99_ROWS, ROWS, TARGETS, VIDEOS
from bench.seeding import Seeded, delete_keys, seeded_database, services_missing
from bench.servers import (
    BASELINE,
    SERVERS,
    Backends,
    baseline_launch,
    itube_config,
    itube_launch,
)
from bench.snapshot import describe, snapshot
from plugins.video.pagination import EPOCH, Cursor

REDIS_URL = os.environ.get("ITUBE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
WRK_HINT = "wrk is not installed: `make bench` installs it, or apt-get install wrk"
SMALL_VIDEOS = 1000
DEEP_PAGE = 1000
SMALL_DEEP_PAGE = 44
COOKIE_SERVERS = ["cognito", "auth_local", "cache_redis"]
# Slices of ids for the walks that ask for the same ids each round, the fastest walks: at
# ~8,000 req/s the bare select asks for ~80,000 ids in its 10 s, more than one slice holds.
SAME_IDS_SLICES = 2


def options(args: Sequence[str]) -> Options:
    quick = "--quick" in args
    env = os.environ.get
    videos = int(env("ITUBE_BENCH_VIDEOS", "20000" if quick else "1000000"))
    return Options(
        videos=videos, small_videos=SMALL_VIDEOS,
        rounds=int(env("ITUBE_BENCH_ROUNDS", "1" if quick else "4")),
        seconds=float(env("ITUBE_BENCH_SECONDS", "2" if quick else "8")),
        warmup_seconds=float(env("ITUBE_BENCH_WARMUP", "1" if quick else "2")),
        connections=int(env("ITUBE_BENCH_CONNECTIONS", "64")),
        # The deepest page the data has, up to DEEP_PAGE.
        deep_page=min(DEEP_PAGE, videos * 9 // 10 // 20 - 1), quick=quick,
    )


def output_folder(quick: bool) -> Path:
    chosen = os.environ.get("ITUBE_BENCH_OUTPUT")
    if chosen:
        return Path(chosen)
    if quick:
        return Path(tempfile.gettempdir()) / "itube-bench-quick"
    return ROOT / "docs"


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def migrate_config(folder: Path, backends: Backends) -> Path:
    path = folder / f"migrate-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(itube_config(SERVERS[0], backends), encoding="utf-8")
    return path


def keyset_query(cursor: str) -> str:
    """The baseline's query string for the page after `cursor`."""
    position = Cursor.decode(cursor)
    micros = (position.created_at - EPOCH) // dt.timedelta(microseconds=1)
    return f"micros={micros}&id={position.id}&limit=20"


def followed_cursor(base: str, page: int) -> str:
    """The cursor of page `page`, reached by following each page's Link header."""
    path = f"{VIDEOS}/?limit=20"
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(page - 1):
            answer = client.get(path)
            answer.raise_for_status()
            path = answer.headers["link"].split(">")[0].lstrip("<")
    return path.rsplit("cursor=", 1)[1]


@attrs.define
class Servers:
    """Starts each itube server when its turn comes (signed in, checked), beside the
    baseline, which runs throughout."""

    folder: Path
    code: Path
    large: Backends
    small: Backends
    stage: Stage
    baseline: Server | None = None
    checked: set[str] = attrs.Factory(set)

    @contextlib.contextmanager
    def itube(self, name: str) -> Iterator[Server]:
        itube = next(server for server in SERVERS if server.name == name)
        command, env = itube_launch(itube, self.small if itube.small else self.large,
                                    self.folder)
        log = self.folder / f"itube-{SERVERS.index(itube)}.log"
        with serving(command, env, "/readyz", log, itube.cpus, self.code) as server:
            if name in COOKIE_SERVERS:
                self.stage.cookies[name] = access_cookie(server.base)
            if itube.small and name not in self.checked:
                check_small_cursor(server.base, self.stage.values)
            self.checked.add(name)
            yield server

    @contextlib.contextmanager
    def start(self, name: str) -> Iterator[Server]:
        if name != BASELINE:
            with self.itube(name) as server:
                yield server
            return
        if self.baseline is None:
            raise RuntimeError("the baseline is not running")
        yield self.baseline


def itube_body(servers: Servers, video: str) -> bytes:
    """itube's get-by-id answer, the baseline's fixed body."""
    with servers.itube(SERVERS[0].name) as server:
        answer = httpx.get(f"{server.base}{VIDEOS}/{video}", timeout=30)
        answer.raise_for_status()
        return answer.content


def start_baseline(stack: contextlib.ExitStack, folder: Path, code: Path, backends: Backends,
                   body: bytes, small_database: str = "") -> Server:
    body_file = folder / "body.json"
    body_file.write_bytes(body)
    redis_key = f"{backends.redis_prefix}-baseline"
    client = redis.Redis.from_url(backends.redis_url)
    client.set(redis_key, body, ex=7200)
    client.close()
    command, env = baseline_launch(backends, body_file, redis_key, small_database)
    return stack.enter_context(serving(command, env, "/fixed", folder / "baseline.log",
                                       code=code))


def placeholders(large: Seeded, small: Seeded, deep_page: int) -> dict[str, str]:
    video = large.public_ids[0]
    deep, small_page = large.page_cursor(deep_page), min(SMALL_DEEP_PAGE, small.public_pages - 1)
    deep_small = small.page_cursor(small_page)
    return {"video": video, "key": large.key_of(video), "deep": deep,
            "deep_small": deep_small, "small_page": str(small_page),
            "deep_keyset": keyset_query(deep), "deep_keyset_small": keyset_query(deep_small)}


def check_small_cursor(base: str, values: dict[str, str]) -> None:
    """The cursors computed from the table are those itube's Link headers lead to."""
    if followed_cursor(base, int(values["small_page"])) != values["deep_small"]:
        raise RuntimeError("the computed cursor is not the one itube's Link headers lead to")


def walk_ids(ids: list[str], rounds: int) -> tuple[list[str], Iterator[list[str]]]:
    """The ids of the walks that ask for the same ones each round, `SAME_IDS_SLICES` slices
    long (they are the fastest walks: the bare select, the in-process cache), and one slice
    per round for each of the others."""
    slices = FRESH_WALKS * rounds + SAME_IDS_SLICES
    size = len(ids) // slices
    same = size * SAME_IDS_SLICES
    return ids[:same], id_slices(ids[same:size * slices], FRESH_WALKS * rounds)


def measure(opts: Options, folder: Path, moto: str, prefix: str) -> Run:
    started, load_before = dt.datetime.now(dt.UTC), machine.load_average()
    clock = time.perf_counter()
    code, measured = snapshot(folder), describe()

    def backends_for(url: str) -> Backends:
        return Backends(database=url, redis_url=REDIS_URL, redis_prefix=prefix, aws_endpoint=moto)

    def config_for(url: str) -> Path:
        return migrate_config(folder, backends_for(url))

    print(f"seeding {opts.videos:,} and {opts.small_videos:,} videos by COPY", flush=True)
    with (seeded_database(opts.videos, config_for) as large,
          seeded_database(opts.small_videos, config_for) as small,
          contextlib.ExitStack() as stack):
        print(f"  seeded ({time.perf_counter() - clock:.0f} s)", flush=True)
        round_ids, fresh_ids = walk_ids(large.public_ids[1:], opts.rounds)
        stage = Stage(options=opts, folder=folder, bases={}, servers={}, cookies={},
                      values=placeholders(large, small, opts.deep_page),
                      fresh_ids=fresh_ids, round_ids=round_ids)
        servers = Servers(folder=folder, code=code, large=backends_for(large.url),
                          small=backends_for(small.url), stage=stage)
        servers.baseline = start_baseline(stack, folder, code, servers.large,
                                          itube_body(servers, stage.values["video"]),
                                          small.url)
        rounds = run_rounds(stage, servers.start)
        facts = machine.facts(large.url, REDIS_URL)
    loads = rounds.loads
    return Run(
        options=opts, rows=[row_result(row, loads) for row in ROWS],
        p99_rows=[row_result(row, loads) for row in P99_ROWS],
        figures=[figure(target.name, loads) for target in TARGETS], rss_mib=rounds.rss_mib,
        walked=stage.walked, machine=facts, code=measured,
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        minutes=(time.perf_counter() - clock) / 60, load_before=load_before,
        load_after=machine.load_average(), chart="benchmarks.png",
    )


def write(run: Run, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / "benchmarks.md"
    document.write_text(markdown(run), encoding="utf-8")
    chart.draw(run.rows + run.p99_rows, folder / run.chart,
               f"itube ÷ its bare baseline ({run.started}, {run.options.videos:,} videos)")
    return document


def load_test_blocker() -> str | None:
    """Why a load test cannot run here (no wrk, or PostgreSQL or Redis not answering)."""
    if shutil.which("wrk") is None:
        return WRK_HINT
    return services_missing(REDIS_URL)


def main(args: Sequence[str] = ()) -> None:
    blocker = load_test_blocker()
    if blocker:
        print(blocker)
        return
    opts = options(args)
    prefix = f"itube-bench-{uuid.uuid4().hex[:8]}"
    # Kept afterwards: the servers' logs explain a failed figure.
    work = Path(tempfile.mkdtemp(prefix="itube-bench-"))
    try:
        with moto_server() as moto:
            run = measure(opts, work, moto, prefix)
    finally:
        delete_keys(REDIS_URL, prefix)
    document = write(run, output_folder(opts.quick))
    print(markdown(run))
    print(f"written: {document} ({run.minutes:.1f} minutes); server logs in {work}")


if __name__ == "__main__":
    main(sys.argv[1:])
