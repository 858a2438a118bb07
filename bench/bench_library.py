"""The library table of docs/benchmarks-library.md: listings in every order at page 1 and
at depth, a search at depth beside the unfiltered page, and the owner's edit and delete
beside metadata creation, with wrk against one real itube server.

    make bench BENCH_ARGS=library              # the full run: about 11 minutes
    make bench BENCH_ARGS="library --quick"    # a try in a few minutes (not written to docs/)

The load table's machinery (bench/bench_load.py): the server pinned to core 0, wrk to core
1, ROUNDS interleaved rounds, medians of same-round ratios, a figure counts only with 0
non-2xx answers. One server (auth_cognito, the in-process cache) runs throughout: its
signed-in owner's videos are seeded for it, and a restart would provision a new user pool.
The rows and targets are in bench/library_scenarios.py, the data in bench/library_data.py.

Environment: as the load table's (ITUBE_BENCH_VIDEOS, ITUBE_BENCH_ROUNDS, ITUBE_BENCH_SECONDS,
ITUBE_BENCH_WARMUP (1 s here), ITUBE_BENCH_CONNECTIONS, ITUBE_BENCH_OUTPUT), and
ITUBE_BENCH_WRITE_RATE (2500): the most writes a second the fresh ids are provisioned for.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import asyncpg
import attrs
import httpx

from bench import chart, machine
from bench.accounts import access_cookie
from bench.bench_load import (
    REDIS_URL,
    load_test_blocker,
    migrate_config,
    moto_server,
    output_folder,
)
from bench.figures import figure, row_result
from bench.library_data import (
    SEARCH_WORD,
    copy_owned,
    count_matches,
    page_cursor,
    put_uploads,
    text_source,
)
from bench.library_report import Drain, LibraryRun, markdown
from bench.library_scenarios import (
    DEEP,
    DELETIONS,
    DRAIN_SECONDS,
    EDITS,
    LIMIT,
    SERVER,
    UPLOADS,
    read_targets,
    rows,
    write_targets,
)
from bench.processes import SERVER_CPU, Server, itube_command, serving
from bench.report import Run
from bench.rounds import Options, Stage, id_slices, run_rounds
from bench.scenarios import VIDEOS, Target
from bench.seeding import COLUMNS, seeded_database
from bench.servers import Backends, Itube, itube_config
from bench.snapshot import describe, snapshot
from plugins.local_aws.config import LocalAwsSettings
from plugins.video.pagination import Sort

DEEP_PAGE = 1000
# In a full run the computed cursors are checked against the Link headers this deep; a
# quick run checks them at the deep page itself.
CHECKED_PAGE = 40
PENDING_JOBS = "SELECT count(*) FROM video_deletions WHERE finished_at IS NULL"
CLOSE_JOBS = ("UPDATE video_deletions SET due_at = NULL, finished_at = now() "
              "WHERE finished_at IS NULL")
# Sort and search of each deep cursor (the search newest first: `q` with sort=newest).
DEEP_ORDERS = {"newest": (Sort.NEWEST, None), "oldest": (Sort.OLDEST, None),
               "title": (Sort.TITLE, None), "relevance": (Sort.RELEVANCE, SEARCH_WORD),
               "search_newest": (Sort.NEWEST, SEARCH_WORD)}
VIDEO_SETTINGS = """
[plugins.video]
deletion_poll_seconds = 1.0
quota_bytes_per_user = 0
quota_videos_per_user = 0
quota_upload_urls_per_hour = 0
"""


def options(args: Sequence[str]) -> Options:
    quick = "--quick" in args
    env = os.environ.get
    return Options(
        videos=int(env("ITUBE_BENCH_VIDEOS", "30000" if quick else "1000000")), small_videos=0,
        rounds=int(env("ITUBE_BENCH_ROUNDS", "1" if quick else "4")),
        seconds=float(env("ITUBE_BENCH_SECONDS", "2" if quick else "8")),
        # 1 s: twelve targets in four rounds, and writes warm up in a few hundred requests
        warmup_seconds=float(env("ITUBE_BENCH_WARMUP", "1")),
        connections=int(env("ITUBE_BENCH_CONNECTIONS", "64")),
        deep_page=DEEP_PAGE, quick=quick,
    )


def walk_size(opts: Options, rate: float) -> int:
    """Fresh ids a walk's run needs at `rate` writes a second, warm-up included."""
    return math.ceil(rate * (opts.warmup_seconds + opts.seconds))


def fresh_ids(count: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(count)]


def followed_cursor(base: str, first: str, page: int) -> str:
    """The cursor of page `page` of the listing at `first`, following each Link header."""
    path = first
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(page - 1):
            answer = client.get(path)
            answer.raise_for_status()
            path = answer.headers["link"].split(">")[0].lstrip("<")
    return httpx.URL(path).params["cursor"]


def listing_query(sort: Sort, search: str | None) -> str:
    query = f"{VIDEOS}/?limit={LIMIT}&sort={sort.value}"
    return query + (f"&q={search}" if search else "")


def deep_cursors(url: str, depth: int) -> dict[str, str]:
    return {DEEP[name]: asyncio.run(page_cursor(url, sort, depth, search, LIMIT))
            for name, (sort, search) in DEEP_ORDERS.items()}


def check_cursors(base: str, url: str, page: int) -> None:
    """The cursors computed from the table are those itube's Link headers lead to."""
    for name, (sort, search) in DEEP_ORDERS.items():
        computed = asyncio.run(page_cursor(url, sort, page, search, LIMIT))
        if followed_cursor(base, listing_query(sort, search), page) != computed:
            raise RuntimeError(f"{name}: the computed cursor of page {page} is not the one "
                               "itube's Link headers lead to")


def check_request(base: str, cookie: str, target: Target, spare: str) -> None:
    """One request of a write walk, with an id kept aside for it: a broken setup fails
    here, with the answer."""
    answer = httpx.request(
        target.method, base + target.path.replace("{id}", spare),
        content=target.body.replace("{id}", spare) or None,
        headers={"Cookie": f"access_token={cookie}", **dict(target.headers)}, timeout=30)
    if not answer.is_success:
        raise RuntimeError(f"{target.name}: answered {answer.status_code}: {answer.text[:300]}")


def owner_id(base: str, cookie: str) -> str:
    answer = httpx.get(f"{base}/api/v1/auth/me", cookies={"access_token": cookie}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["id"])


async def _run_sql(url: str, statement: str) -> int:
    """The statement's single value (a count), or 0 for one that returns none."""
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(statement) or 0)
    finally:
        await connection.close()


@attrs.define
class DrainWatch:
    """After each delete run: gives the deletion worker DRAIN_SECONDS, measures its server
    CPU per purged job, then closes the jobs left (their objects were never created: the
    owner's seeded videos have none in S3)."""

    url: str
    drains: list[Drain] = attrs.Factory(list)

    def __call__(self, target: Target, server: Server) -> None:
        if target.pool != DELETIONS:
            return
        before, cpu = asyncio.run(_run_sql(self.url, PENDING_JOBS)), server.cpu_seconds()
        clock = time.perf_counter()
        left = before
        while left and time.perf_counter() - clock < DRAIN_SECONDS:
            time.sleep(0.5)
            left = asyncio.run(_run_sql(self.url, PENDING_JOBS))
        spent, seconds = server.cpu_seconds() - cpu, time.perf_counter() - clock
        asyncio.run(_run_sql(self.url, CLOSE_JOBS))
        self.drains.append(Drain(pending=before, purged=before - left, seconds=seconds,
                                 cpu_us=spent / (before - left) * 1e6 if before > left else 0))


@contextlib.contextmanager
def library_server(folder: Path, code: Path, backends: Backends) -> Iterator[Server]:
    config = folder / "itube-library.toml"
    config.write_text(itube_config(Itube(SERVER), backends) + VIDEO_SETTINGS, encoding="utf-8")
    with serving(lambda port: itube_command(config, port, 1), {}, "/readyz",
                 folder / "itube-library.log", SERVER_CPU, code) as server:
        yield server


@attrs.frozen
class Writes:
    """The owner's write targets, the session cookie they send and their fresh ids (the
    first of each pool spent by the check before the rounds)."""

    cookie: str
    targets: list[Target]
    pools: dict[str, list[str]]
    per_run: int

    def slices(self, rounds: int) -> dict[str, Iterator[list[str]]]:
        return {name: id_slices(ids[1:], rounds) for name, ids in self.pools.items()}


def provision_writes(base: str, url: str, opts: Options) -> Writes:
    """Sign up and in on the server at `base`, seed the new owner's videos (for edits and
    deletes) and uploads (for metadata creation), and check one request of each write."""
    cookie = access_cookie(base)
    owner = owner_id(base, cookie)
    per_run = walk_size(opts, float(os.environ.get("ITUBE_BENCH_WRITE_RATE", "2500")))
    pools = {name: fresh_ids(per_run * opts.rounds + 1) for name in (UPLOADS, EDITS, DELETIONS)}
    asyncio.run(copy_owned(url, owner, [uuid.UUID(i) for i in pools[EDITS] + pools[DELETIONS]],
                           COLUMNS))
    put_uploads(LocalAwsSettings().raw_bucket, [f"videos/{owner}/{key}" for key in pools[UPLOADS]])
    writes = Writes(cookie=cookie, targets=write_targets(owner), pools=pools, per_run=per_run)
    for target in writes.targets:
        check_request(base, cookie, target, pools[target.pool][0])
    return writes


def measure(opts: Options, folder: Path, moto: str, prefix: str) -> LibraryRun:
    started, load_before = dt.datetime.now(dt.UTC), machine.load_average()
    clock = time.perf_counter()
    code, measured = snapshot(folder), describe()

    def backends_for(url: str) -> Backends:
        return Backends(database=url, redis_url=REDIS_URL, redis_prefix=prefix, aws_endpoint=moto)

    print(f"seeding {opts.videos:,} videos with searchable text by COPY", flush=True)
    with seeded_database(opts.videos, lambda url: migrate_config(folder, backends_for(url)),
                         text_source()) as large:
        matches = asyncio.run(count_matches(large.url, SEARCH_WORD))
        opts = attrs.evolve(opts, deep_page=min(DEEP_PAGE, matches // LIMIT - 1))
        print(f"  seeded ({time.perf_counter() - clock:.0f} s); {matches:,} public videos "
              f"match q={SEARCH_WORD}: the deep page is page {opts.deep_page}", flush=True)
        with library_server(folder, code, backends_for(large.url)) as server:
            writes = provision_writes(server.base, large.url, opts)
            check_cursors(server.base, large.url,
                          opts.deep_page if opts.quick else min(CHECKED_PAGE, opts.deep_page))
            print(f"  {writes.per_run * opts.rounds:,} fresh ids per write; cursors checked "
                  f"({time.perf_counter() - clock:.0f} s)", flush=True)
            drains = DrainWatch(large.url)
            stage = Stage(options=opts, folder=folder, bases={}, servers={},
                          cookies={SERVER: writes.cookie},
                          values={"word": SEARCH_WORD, **deep_cursors(large.url, opts.deep_page)},
                          fresh_ids=iter(()), pools=writes.slices(opts.rounds), settle=drains)
            targets = read_targets() + writes.targets
            rounds = run_rounds(stage, lambda _: contextlib.nullcontext(server), targets)
        facts = machine.facts(large.url, REDIS_URL)
    loads = rounds.loads
    run = Run(options=opts, rows=[row_result(row, loads) for row in rows(opts.deep_page,
                                                                           SEARCH_WORD)],
              p99_rows=[], figures=[figure(target.name, loads) for target in targets],
              rss_mib=rounds.rss_mib, walked=stage.walked, machine=facts, code=measured,
              started=started.strftime("%Y-%m-%d %H:%M UTC"),
              minutes=(time.perf_counter() - clock) / 60, load_before=load_before,
              load_after=machine.load_average(), chart="benchmarks-library.png")
    return LibraryRun(run=run, matches=matches, word=SEARCH_WORD, drains=drains.drains,
                      fresh_per_run=writes.per_run)


def write(library: LibraryRun, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / "benchmarks-library.md"
    document.write_text(markdown(library), encoding="utf-8")
    run = library.run
    chart.draw(run.rows, folder / run.chart,
               f"itube's library: ratios of one server's targets ({run.started}, "
               f"{run.options.videos:,} videos)")
    return document


def main(args: Sequence[str] = ()) -> None:
    blocker = load_test_blocker()
    if blocker:
        print(blocker)
        return
    opts = options(args)
    prefix = f"itube-bench-{uuid.uuid4().hex[:8]}"
    # Kept afterwards: the server's log explains a failed figure.
    work = Path(tempfile.mkdtemp(prefix="itube-bench-library-"))
    with moto_server() as moto:
        library = measure(opts, work, moto, prefix)
    document = write(library, output_folder(opts.quick))
    print(markdown(library))
    print(f"written: {document} ({library.run.minutes:.1f} minutes); server log in {work}")


if __name__ == "__main__":
    main(sys.argv[1:])
