"""Does itube stall under concurrency? wrk against real uvicorn processes.

The design itube replaces completed 0 requests in 10 s at 64 concurrent connections: its
database calls were synchronous inside `async def` handlers. Here `wrk` (CONNECTIONS
connections, THREADS threads, SECONDS per target after a warm-up) drives one uvicorn
worker (uvloop, httptools) at a time, on loopback:

- itube with the in-process cache ("memory"), then with `cache_redis` ("redis"):
  get-by-id (cached after the first hit), the first page of the public list (cached), a
  page DEEP_PAGE pages in through the Link cursor (never cached), /healthz; "memory" also
  get-by-id uncached (a wrk script asks for each of ~8,000 videos once);
- itube "cdn": public base URLs set, so media URLs are built without presigning: the deep
  page and get-by-id uncached again, to show what signing costs;
- the baselines in `bench/baseline_app.py`: (a) a bare handler returning itube's
  get-by-id JSON, (b) a bare asyncpg-pool handler selecting one video row by id, (b') the
  same pool selecting the deep page's rows, (c) a bare handler reading the get-by-id JSON
  from Redis.

Stalls would show three ways: wrk completing no requests (or timing out), one of 64 raw
keep-alive connections not getting all its PROBE_ROUNDS answers, and /healthz asked by
one more client going unanswered while wrk loads the deep page.

Data: a fresh PostgreSQL database seeded with VIDEOS videos (90% public and completed)
by COPY, and Redis keys under a throwaway prefix; both removed at the end. The machine
is shared and noisy: read the ratios, not the absolute figures. About 100 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import attrs
import httpx
import redis

from tests.support.services import (
    POSTGRES_ADMIN_URL,
    POSTGRES_HINT,
    REDIS_HINT,
    create_postgres_database,
    drop_postgres_database,
    free_port,
)

ROOT = Path(__file__).resolve().parents[1]
REDIS_URL = os.environ.get("ITUBE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
WRK_HINT = "wrk is not installed; install it with: apt-get install wrk"
CONNECTIONS = 64
THREADS = 2
SECONDS = 4
WARMUP_SECONDS = 1
WRK_TIMEOUT = 5  # seconds; a request waiting longer counts as a wrk timeout
VIDEOS = 10_000
DEEP_PAGE = 5
PROBE_ROUNDS = 10
PROBE_TIMEOUT = 10  # seconds a probing connection may take for all its requests
WATCH_PAUSE = 0.01  # seconds between two /healthz requests of the watching client
WATCH_TIMEOUT = 10
WARM_IDS = 1000  # the rest of the public videos (about 8,000) are for the measured run
POOL_MAX_SIZE = 10  # itube's default [database] pool_max_size; the baseline pool matches
VIDEOS_PATH = "/api/v1/upload/videos"
# With public base URLs set, media URLs are built without signing (a CDN in front).
CDN = "https://cdn.bench.invalid"
# The design itube replaces, measured with one uvicorn worker and 64 connections.
REPLACED = {"its cached get-by-id / (c)": 0.30, "its uncached get-by-id / (b)": 0.12}


# -- wrk ----------------------------------------------------------------------------------------


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


def wrk(url: str, seconds: int, script: Path | None = None) -> str:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s",
               f"--timeout={WRK_TIMEOUT}s", "--latency", *(["-s", str(script)] if script else []),
               url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30,
                          check=True)
    return done.stdout


def load(url: str) -> Load:
    wrk(url, WARMUP_SECONDS)  # fills the caches and the pools
    return parse_wrk(wrk(url, SECONDS))


# Each wrk thread walks its own share of the paths in order: no path twice until all are
# used, so every answer of a get-by-id run is a cache miss while requests <= paths.
WALK_SCRIPT = """
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local started = 0
function setup(thread)
  thread:set("first", started)
  started = started + 1
end
function init(args)
  position = first
end
function request()
  position = position + %(threads)d
  return wrk.format("GET", paths[position %% #paths + 1])
end
"""


def walk_script(folder: Path, name: str, paths: list[str]) -> Path:
    listing = folder / f"{name}.paths"
    listing.write_text("\n".join(paths) + "\n", encoding="utf-8")
    script = folder / f"{name}.lua"
    script.write_text(WALK_SCRIPT % {"paths": listing, "threads": THREADS}, encoding="utf-8")
    return script


def load_walk(base: str, folder: Path, warm: list[str], measured: list[str]) -> Load:
    """wrk over many paths, each requested once: warmed up on other paths than measured."""
    wrk(base, WARMUP_SECONDS, walk_script(folder, "warm", warm))
    return parse_wrk(wrk(base, SECONDS, walk_script(folder, "measured", measured)))


@attrs.frozen
class Watch:
    """One more client asking for /healthz every WATCH_PAUSE seconds during a wrk run."""

    answers: int
    failures: int
    p50_ms: float
    max_ms: float


@contextlib.contextmanager
def watching(url: str) -> Iterator[list[Watch]]:
    """While the block runs, time /healthz answers; the list holds the Watch afterwards.
    A loop blocked by a synchronous call would show here as answers taking seconds."""
    latencies: list[float] = []
    failures = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal failures
        with httpx.Client(timeout=WATCH_TIMEOUT) as client:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    client.get(url).raise_for_status()
                    latencies.append(time.perf_counter() - started)
                except httpx.HTTPError:
                    failures += 1
                stop.wait(WATCH_PAUSE)

    outcome: list[Watch] = []
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        yield outcome
    finally:
        stop.set()
        thread.join(WATCH_TIMEOUT + 5)
        ordered = sorted(latencies) or [0.0]
        outcome.append(Watch(answers=len(latencies), failures=failures,
                             p50_ms=statistics.median(ordered) * 1e3, max_ms=ordered[-1] * 1e3))


# -- uvicorn processes --------------------------------------------------------------------------


@contextlib.contextmanager
def uvicorn(app: str, env: dict[str, str], ready: str, log: Path,
            factory: bool = False) -> Iterator[str]:
    """`python -m uvicorn app` with one worker on a free port; yields its base URL once
    `ready` answers 200, and stops the process whatever happens."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--loop", "uvloop", "--http", "httptools",
               "--log-level", "warning", "--no-access-log", *(["--factory"] if factory else [])]
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env},
                                   stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(process, base + ready, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: server exited:\n{log.read_text(errors='replace')}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url}: not ready within 60 s:\n{log.read_text(errors='replace')}")


def itube_config(path: Path, database: str, redis_prefix: str | None = None,
                 cdn: bool = False) -> Path:
    text = f"""
[app]
plugins = ["local_aws", "tests.support.stand_in_plugins", "video"{
    ', "cache_redis"' if redis_prefix else ''}]

[database]
url = "{database}"
migrate_on_start = true
pool_max_size = {POOL_MAX_SIZE}

[logging]
level = "WARNING"
access_log = false

[plugins.local_aws]
port = 0
"""
    if redis_prefix:
        text += f'\n[plugins.cache_redis]\nurl = "{REDIS_URL}"\nkey_prefix = "{redis_prefix}"\n'
    if cdn:
        text += f'\n[plugins.video]\nplayback_base_url = "{CDN}/videos"\n' \
                f'thumbnail_base_url = "{CDN}/thumbnails"\n'
    path.write_text(text, encoding="utf-8")
    return path


# -- data ---------------------------------------------------------------------------------------


def migrate(config: Path) -> None:
    from core.cli import main as itube

    with contextlib.redirect_stdout(io.StringIO()):
        if itube(["--config", str(config), "migrate", "forwards"]) != 0:
            raise RuntimeError("itube migrate forwards failed")


# One video in ten is not listed publicly: unlisted, private, in progress or failed.
OTHER_STATES = [("UNLISTED", "COMPLETED"), ("PRIVATE", "COMPLETED"),
                ("PUBLIC", "IN_PROGRESS"), ("PUBLIC", "FAILED")]
COLUMNS = ["id", "owner_id", "title", "description", "visibility", "processing_status",
           "video_s3_key", "thumbnail_s3_key", "size_bytes", "content_type", "failure_reason",
           "duration_seconds", "created_at", "updated_at", "version"]


def video_rows(count: int) -> list[tuple[Any, ...]]:
    rng = random.Random(20261124)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=count)
    rows: list[tuple[Any, ...]] = []
    for index in range(count):
        video_id, owner = uuid.UUID(int=rng.getrandbits(128), version=4), f"user-{index % 100}"
        visibility, status = ("PUBLIC", "COMPLETED") if index % 10 else OTHER_STATES[
            index // 10 % len(OTHER_STATES)]
        created = start + dt.timedelta(minutes=index, microseconds=rng.randrange(60_000_000))
        rows.append((
            video_id, owner, f"Benchmark video {index}", "d" * 200, visibility, status,
            f"videos/{owner}/{video_id}.mp4",
            f"thumbnails/{owner}/{video_id}.jpg" if index % 2 else None,
            rng.randrange(1_000_000, 500_000_000), "video/mp4",
            "transcoder error" if status == "FAILED" else None,
            60.0 + index % 600 if status == "COMPLETED" else None,
            created, created, 1,
        ))
    return rows


async def seed(database: str) -> list[uuid.UUID]:
    """Insert VIDEOS videos by COPY; answers the ids of the public, completed ones."""
    rows = video_rows(VIDEOS)
    connection = await asyncpg.connect(database)
    try:
        await connection.copy_records_to_table("videos", records=rows, columns=COLUMNS)
        await connection.execute("ANALYZE videos")
    finally:
        await connection.close()
    return [row[0] for row in rows if row[4:6] == ("PUBLIC", "COMPLETED")]


def delete_keys(prefix: str) -> int:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


# -- every connection answered ----------------------------------------------------------------


@attrs.frozen
class Probe:
    """CONNECTIONS keep-alive connections, PROBE_ROUNDS requests each, all at once."""

    complete: int  # connections that got a 200 for every one of their requests
    slowest_ms: float


async def probe(base: str, path: str) -> Probe:
    host, port = base.removeprefix("http://").split(":")
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()

    async def connection() -> tuple[bool, float]:
        reader, writer = await asyncio.open_connection(host, int(port))
        answered, slowest = 0, 0.0
        try:
            for _ in range(PROBE_ROUNDS):
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
                await reader.readexactly(int(length[1]) if length else 0)
                answered += head.startswith(b"HTTP/1.1 200 ")
                slowest = max(slowest, time.perf_counter() - started)
        finally:
            writer.close()
        return answered == PROBE_ROUNDS, slowest

    async def bounded() -> tuple[bool, float]:
        try:
            return await asyncio.wait_for(connection(), PROBE_TIMEOUT)
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            return False, PROBE_TIMEOUT

    results = await asyncio.gather(*(bounded() for _ in range(CONNECTIONS)))
    return Probe(complete=sum(ok for ok, _ in results),
                 slowest_ms=max(slowest for _, slowest in results) * 1e3)


# -- the runs -----------------------------------------------------------------------------------


@attrs.define
class Run:
    database: str
    prefix: str
    tmp: Path
    public_ids: list[uuid.UUID]
    loads: dict[str, Load] = attrs.Factory(dict)
    probes: dict[str, Probe] = attrs.Factory(dict)
    watches: dict[str, Watch] = attrs.Factory(dict)
    body: bytes = b""
    deep_path: str = ""

    @property
    def video_id(self) -> uuid.UUID:
        """The video of the cached get-by-id target."""
        return self.public_ids[0]

    def uncached_ids(self) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        """Ids to warm up with and ids to measure with: none requested before."""
        rest = self.public_ids[1:]
        return rest[:WARM_IDS], rest[WARM_IDS:]


def deep_page_path(base: str) -> str:
    """The path of the page DEEP_PAGE pages in, following each page's Link header."""
    path = f"{VIDEOS_PATH}/?limit=20"
    with httpx.Client(base_url=base, timeout=10) as client:
        for _ in range(DEEP_PAGE - 1):
            answer = client.get(path)
            answer.raise_for_status()
            link = re.fullmatch(r'<([^>]+)>; rel="next"', answer.headers.get("link", ""))
            if link is None:
                raise RuntimeError(f"{path}: no Link to a next page")
            path = link[1]
    return path


def itube_targets(run: Run) -> dict[str, str]:
    return {"get-by-id": f"{VIDEOS_PATH}/{run.video_id}", "first page": f"{VIDEOS_PATH}/?limit=20",
            "deep page": run.deep_path, "/healthz": "/healthz"}


UNCACHED = "get-by-id, uncached"
# Each itube process: its config and the targets wrk drives.
VARIANTS = {
    "memory": ({}, ["get-by-id", "first page", "deep page", "/healthz", UNCACHED]),
    "redis": ({"redis": True}, ["get-by-id", "first page", "deep page", "/healthz"]),
    "cdn": ({"cdn": True}, ["deep page", UNCACHED]),
}


def measure_itube(run: Run, variant: str) -> None:
    options, names = VARIANTS[variant]
    slug = re.sub(r"\W+", "-", variant)
    config = itube_config(run.tmp / f"itube-{slug}.toml", run.database,
                          run.prefix if options.get("redis") else None, options.get("cdn", False))
    with uvicorn("core.asgi:app", {"ITUBE_CONFIG": str(config)}, "/readyz",
                 run.tmp / f"itube-{slug}.log") as base:
        if not run.body:
            answer = httpx.get(base + itube_targets(run)["get-by-id"], timeout=10)
            answer.raise_for_status()
            run.body, run.deep_path = answer.content, deep_page_path(base)
        for name in names:
            if name == UNCACHED:
                warm, measured = ([f"{VIDEOS_PATH}/{video}" for video in ids]
                                  for ids in run.uncached_ids())
                run.loads[f"itube {variant}: {name}"] = load_walk(base, run.tmp, warm, measured)
                continue
            url = base + itube_targets(run)[name]
            httpx.get(url, timeout=10).raise_for_status()
            if name != "deep page":
                run.loads[f"itube {variant}: {name}"] = load(url)
                continue
            wrk(url, WARMUP_SECONDS)
            with watching(base + "/healthz") as watched:
                run.loads[f"itube {variant}: {name}"] = parse_wrk(wrk(url, SECONDS))
            run.watches[f"itube {variant}"] = watched[0]
        for name in ("get-by-id", "deep page"):
            if name in names:
                run.probes[f"itube {variant}: {name}"] = asyncio.run(
                    probe(base, itube_targets(run)[name]))


def measure_baselines(run: Run) -> None:
    from plugins.video.pagination import EPOCH, Cursor

    body_file = run.tmp / "body.json"
    body_file.write_bytes(run.body)
    redis_key = f"{run.prefix}:baseline"
    client = redis.Redis.from_url(REDIS_URL)
    client.set(redis_key, run.body, ex=600)
    client.close()
    cursor = Cursor.decode(run.deep_path.rsplit("cursor=", 1)[1])
    micros = (cursor.created_at - EPOCH) // dt.timedelta(microseconds=1)
    env = {"ITUBE_BENCH_BODY_FILE": str(body_file), "ITUBE_BENCH_DATABASE_URL": run.database,
           "ITUBE_BENCH_DATABASE_POOL": str(POOL_MAX_SIZE), "ITUBE_BENCH_REDIS_URL": REDIS_URL,
           "ITUBE_BENCH_REDIS_KEY": redis_key}
    targets = {"(a) bare fixed JSON": "/fixed", "(b) bare asyncpg row": f"/row/{run.video_id}",
               "(b') bare asyncpg page": f"/page?micros={micros}&id={cursor.id}&limit=20",
               "(c) bare Redis read": "/redis"}
    with uvicorn("bench.baseline_app:create_app", env, "/fixed", run.tmp / "baseline.log",
                 factory=True) as base:
        for name, path in targets.items():
            httpx.get(base + path, timeout=10).raise_for_status()
            run.loads[name] = load(base + path)


# -- report -------------------------------------------------------------------------------------


def ratio(run: Run, name: str, baseline: str) -> str:
    value, base = run.loads[name].per_second, run.loads[baseline].per_second
    return f"{value / base:.2f}x" if base else "n/a (baseline at 0/s)"


def report(run: Run) -> None:
    print(f"wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s --timeout {WRK_TIMEOUT}s, one uvicorn "
          f"worker each (uvloop, httptools); {VIDEOS} videos in PostgreSQL.\n"
          "itube memory: the in-process cache; itube redis: cache_redis; itube cdn: the "
          "in-process cache and\n[plugins.video] playback/thumbnail_base_url set, so media "
          "URLs are not presigned")
    print(f"  {'target':34s} {'req/s':>7s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} "
          f"{'non-2xx':>7s} {'sock err':>8s} {'timeouts':>8s}")
    for name, row in run.loads.items():
        print(f"  {name:34s} {row.per_second:7.0f} {row.p50_ms:8.2f} {row.p99_ms:8.2f} "
              f"{row.max_ms:8.1f} {row.non_2xx:7d} {row.socket_errors:8d} {row.timeouts:8d}")
    measured_ids = len(run.uncached_ids()[1])
    for name, row in run.loads.items():
        if name.endswith(UNCACHED):
            repeats = "some were cache hits" if row.requests > measured_ids else "all misses"
            print(f"  {name}: {row.requests} requests over {measured_ids} videos ({repeats})")
    print("ratios of requests/s, measured in this run:")
    for variant, baseline in RATIOS:
        print(f"  {variant:34s} / {baseline:22s} {ratio(run, variant, baseline)}")
    print("  (the design itube replaces: " + "; ".join(f"{k} {v:.2f}x" for k, v in REPLACED.items())
          + ")")
    stall_verdict(run)


RATIOS = [
    ("itube memory: get-by-id", "(a) bare fixed JSON"),
    ("itube memory: get-by-id", "(c) bare Redis read"),
    ("itube redis: get-by-id", "(a) bare fixed JSON"),
    ("itube redis: get-by-id", "(c) bare Redis read"),
    ("itube memory: get-by-id, uncached", "(b) bare asyncpg row"),
    ("itube cdn: get-by-id, uncached", "(b) bare asyncpg row"),
    ("itube memory: deep page", "(b) bare asyncpg row"),
    ("itube redis: deep page", "(b) bare asyncpg row"),
    ("itube memory: deep page", "(b') bare asyncpg page"),
    ("itube cdn: deep page", "(b') bare asyncpg page"),
    ("itube memory: deep page", "itube cdn: deep page"),
]


def stall_verdict(run: Run) -> None:
    itube = {name: row for name, row in run.loads.items() if name.startswith("itube")}
    stalled = [name for name, row in itube.items()
               if row.requests == 0 or row.timeouts or row.socket_errors or row.non_2xx]
    short = [name for name, result in run.probes.items() if result.complete != CONNECTIONS]
    blocked = [name for name, seen in run.watches.items() if seen.failures or not seen.answers]
    print(f"every connection answered ({CONNECTIONS} keep-alive connections, {PROBE_ROUNDS} "
          "requests each, all at once):")
    for name, result in run.probes.items():
        print(f"  {name:34s} {result.complete}/{CONNECTIONS} connections got all "
              f"{PROBE_ROUNDS} answers (200), slowest {result.slowest_ms:.1f} ms")
    print(f"the event loop kept answering (one more client asking for /healthz every "
          f"{WATCH_PAUSE * 1000:.0f} ms while wrk loads the deep page):")
    for name, seen in run.watches.items():
        print(f"  {name:34s} {seen.answers} answers, {seen.failures} failed, "
              f"p50 {seen.p50_ms:.1f} ms, max {seen.max_ms:.1f} ms")
    if stalled or short or blocked:
        print(f"STALL: {', '.join(stalled + short + blocked)}")
        return
    slowest = max(row.max_ms for row in itube.values())
    print(f"no stall: every itube target completed {min(r.requests for r in itube.values())}+ "
          f"requests in {SECONDS} s with 0 timeouts, 0 socket errors and 0 non-2xx; the slowest "
          f"answer took {slowest:.0f} ms (wrk gives up at {WRK_TIMEOUT * 1000} ms): all "
          f"{CONNECTIONS} connections completed requests")


# -- main ---------------------------------------------------------------------------------------


def services_missing() -> str | None:
    async def ping_postgres() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        await connection.close()

    try:
        asyncio.run(ping_postgres())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return POSTGRES_HINT.format(url=POSTGRES_ADMIN_URL, error=exc)
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return REDIS_HINT.format(url=REDIS_URL, error=exc)
    finally:
        client.close()
    return None


def main() -> None:
    if shutil.which("wrk") is None:
        print(WRK_HINT)
        return
    missing = services_missing()
    if missing:
        print(missing)
        return
    started = time.perf_counter()
    database = create_postgres_database()
    prefix = f"itube-bench-{uuid.uuid4().hex[:8]}"
    try:
        with tempfile.TemporaryDirectory() as tmp:
            migrate(itube_config(Path(tmp) / "migrate.toml", database))
            run = Run(database=database, prefix=prefix, tmp=Path(tmp),
                      public_ids=asyncio.run(seed(database)))
            measure_itube(run, "memory")
            measure_baselines(run)
            measure_itube(run, "redis")
            measure_itube(run, "cdn")
    finally:
        drop_postgres_database(database)
        delete_keys(prefix)
    report(run)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
