"""The events table of docs/benchmarks-events.md (issue 14's performance section): what
the transactional outbox adds to a status change, what the dispatcher spends delivering
1,000 queued events through the webhooks sink, and 1,000 live streams on one worker.

    make bench BENCH_ARGS=events              # the full run: a few minutes
    make bench BENCH_ARGS="events --quick"    # a try in a couple of minutes (not in docs/)
    make bench BENCH_ARGS="events --dispatch" # only the dispatcher's figure, printed
    ITUBE_BENCH_DISPATCH_AGAINST=HEAD make bench BENCH_ARGS="events --dispatch"
                                              # ... beside the committed code's

1. The same status-change walk (service-signed PATCH …/{id}/status, IN_PROGRESS to
   COMPLETED, each request over a fresh video so every answer is a 200) against the
   current code and the code before the outbox (commit BEFORE_OUTBOX, exported with git
   archive), both on one database migrated by the current code, both servers pinned to
   core 0 and wrk to core 1; interleaved rounds, medians of same-round ratios of the
   server's CPU per answer and of req/s; a figure counts only with 0 non-2xx answers.
2. The dispatcher: 1,000 events recorded by core.events.record in one transaction while
   a server with the webhooks sink runs; the server's CPU seconds and the wall time from
   the commit until a local receiver (answering 204) has every event.
3. Live streams: LIVE_STREAMS concurrent GET …/events of one user on one worker, each
   checked for `: open`; one status change; the time until every stream has its event,
   and the worker's RSS before and after.

Environment: ITUBE_BENCH_ROUNDS (4), ITUBE_BENCH_SECONDS (8), ITUBE_BENCH_WARMUP (1),
ITUBE_BENCH_CONNECTIONS (32), ITUBE_BENCH_OUTPUT, ITUBE_BENCH_DISPATCH_AGAINST and
ITUBE_BENCH_PROFILE (`--dispatch` only), and ITUBE_BENCH_WRITE_RATE (4000): the
most status changes a second the fresh videos are provisioned for (a run past them would
repeat a signature, which the replay guard refuses with a 401: the figure would not count).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncpg
import attrs
import httpx
from botocore.credentials import Credentials

from bench import machine
from bench.accounts import access_cookie
from bench.bench_load import REDIS_URL, load_test_blocker, moto_server, output_folder
from bench.events_walk import median_ratio, per_thousand, signed_line, signed_walk_script
from bench.processes import ROOT, SERVER_CPU, Server, itube_command, serving
from bench.scenarios import VIDEOS
from bench.seeding import COLUMNS, seeded_database, services_missing
from bench.servers import SIGV4_KEY_ID, SIGV4_REGION, SIGV4_SECRET, Backends, Itube, itube_config
from bench.snapshot import describe, snapshot
from bench.wrk import THREADS, Load, wrk
from tests.support.services import free_port

BEFORE_OUTBOX = "5aa581a"
CURRENT, BEFORE = "with the outbox", "before the outbox"
DISPATCHED = 1000
LIVE_STREAMS = 1000
WEBHOOK_SECRET = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"  # 24 bytes, a bench-only key
DELIVERY_SECONDS = 120
FAN_OUT_SECONDS = 60
STATUS_SETTLE_SECONDS = 60
OUTBOX_END = "SELECT coalesce(max(id), 0) FROM event_outbox"
BROKER_AT = "SELECT coalesce(max(last_id), 0) FROM event_sink_offsets WHERE name = 'broker'"


@attrs.frozen
class Options:
    rounds: int
    seconds: float
    warmup_seconds: float
    connections: int
    write_rate: float
    quick: bool

    @property
    def per_run(self) -> int:
        return math.ceil(self.write_rate * (self.warmup_seconds + self.seconds))


def options(args: Sequence[str]) -> Options:
    quick = "--quick" in args
    env = os.environ.get
    return Options(rounds=int(env("ITUBE_BENCH_ROUNDS", "1" if quick else "4")),
                   seconds=float(env("ITUBE_BENCH_SECONDS", "2" if quick else "8")),
                   warmup_seconds=float(env("ITUBE_BENCH_WARMUP", "1")),
                   connections=int(env("ITUBE_BENCH_CONNECTIONS", "32")),
                   write_rate=float(env("ITUBE_BENCH_WRITE_RATE", "4000")), quick=quick)


# -- data ------------------------------------------------------------------------------------

def video_rows(owner: str, ids: Sequence[uuid.UUID]) -> Iterator[tuple[object, ...]]:
    """Rows of bench.seeding.COLUMNS: `owner`'s videos, in progress (a transcoder's next
    report, COMPLETED, is a 200 that changes the row)."""
    now = dt.datetime.now(dt.UTC)
    for index, video_id in enumerate(ids):
        created = now - dt.timedelta(seconds=len(ids) - index)
        yield (video_id, owner, f"Events bench {index}", "", "PUBLIC", "IN_PROGRESS",
               f"videos/{owner}/{video_id}.mp4", None, 10_000_000, "video/mp4", None, None,
               created, created, 1)


async def _copy_videos(url: str, owner: str, ids: Sequence[str]) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table(
            "videos", records=video_rows(owner, [uuid.UUID(i) for i in ids]), columns=COLUMNS)
        await connection.execute("ANALYZE videos")
    finally:
        await connection.close()


async def _value(url: str, query: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(query) or 0)
    finally:
        await connection.close()


def seed_videos(url: str, owner: str, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    asyncio.run(_copy_videos(url, owner, ids))
    return ids


# -- servers ---------------------------------------------------------------------------------

def old_code(folder: Path, commit: str = BEFORE_OUTBOX) -> Path:
    """The packages as they were at `commit` (before the outbox by default): `git archive`."""
    code = folder / f"code-{commit}"
    code.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit, "core", "plugins"], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    return code


def server_config(backends: Backends, extra: str = "", plugins: Sequence[str] = ()) -> str:
    """The load table's itube (auth_cognito, in-process cache), not migrating on start:
    the current code migrated the database once, before any server started."""
    text = itube_config(Itube("cognito"), backends).replace(
        "migrate_on_start = true", "migrate_on_start = false")
    if plugins:
        text = text.replace('"video"]', '"video", ' + ", ".join(f'"{p}"' for p in plugins) + "]")
    return text + extra


@contextlib.contextmanager
def itube_server(folder: Path, name: str, code: Path, config_text: str) -> Iterator[Server]:
    config = folder / f"itube-{name}.toml"
    config.write_text(config_text, encoding="utf-8")
    with serving(lambda port: itube_command(config, port, 1), {}, "/readyz",
                 folder / f"itube-{name}.log", SERVER_CPU, code) as server:
        yield server


def migrate_config(folder: Path, backends: Backends) -> Path:
    """The current code's schema, the webhooks plugin's tables included."""
    path = folder / f"migrate-{uuid.uuid4().hex[:6]}.toml"
    path.write_text(server_config(backends, plugins=["webhooks"]), encoding="utf-8")
    return path


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# -- 1. a status change with and without the outbox ---------------------------------------------

@attrs.frozen
class StatusRun:
    loads: list[dict[str, Load]]  # one dict per round, by server

    def figure(self, name: str) -> tuple[float, float, int]:
        """Median req/s, median µs CPU per answer, failures over every round."""
        loads = [round_[name] for round_ in self.loads]
        return (statistics.median(load.per_second for load in loads),
                statistics.median(load.cpu_us for load in loads),
                sum(load.failures for load in loads))

    def ratios(self) -> tuple[float | None, float | None]:
        """Same-round medians: CPU per answer with ÷ without, req/s with ÷ without."""
        if any(self.figure(name)[2] for name in (CURRENT, BEFORE)):
            return None, None
        cpu = median_ratio([r[CURRENT].cpu_us for r in self.loads],
                           [r[BEFORE].cpu_us for r in self.loads])
        rate = median_ratio([r[CURRENT].per_second for r in self.loads],
                            [r[BEFORE].per_second for r in self.loads])
        return cpu, rate


def _walk(folder: Path, server: Server, url: str, ids: list[str], opts: Options,
          tag: str) -> Load:
    credentials = Credentials(SIGV4_KEY_ID, SIGV4_SECRET)
    share = opts.warmup_seconds / (opts.warmup_seconds + opts.seconds)
    warm, measured = ids[:int(len(ids) * share)], ids[int(len(ids) * share):]
    warm_script = signed_walk_script(
        folder, f"{tag}-warm", [signed_line(server.base, i, credentials, SIGV4_REGION)
                                for i in warm], THREADS)
    script = signed_walk_script(
        folder, f"{tag}-measured", [signed_line(server.base, i, credentials, SIGV4_REGION)
                                    for i in measured], THREADS)
    wrk(server.base, opts.warmup_seconds, opts.connections, warm_script)
    wait_for_broker(url)
    before = server.cpu_seconds()
    load = wrk(server.base, opts.seconds, opts.connections, script)
    # The events' hand-over to the live-stream broker is part of a change's cost: counted
    # until the dispatcher has caught up with the run's events.
    wait_for_broker(url)
    spent = server.cpu_seconds() - before
    return attrs.evolve(load, cpu_us=spent / load.requests * 1e6 if load.requests else 0.0)


def check_status_change(server: Server, video_id: str) -> None:
    credentials = Credentials(SIGV4_KEY_ID, SIGV4_SECRET)
    line = signed_line(server.base, video_id, credentials, SIGV4_REGION).split("\t")
    answer = httpx.patch(server.base + line[0], content=line[1], timeout=30, headers={
        "content-type": "application/json", "x-amz-date": line[2],
        "x-amz-content-sha256": line[3], "authorization": line[4]})
    if not answer.is_success:
        raise RuntimeError(f"status change: answered {answer.status_code}: {answer.text[:300]}")


def wait_for_broker(url: str) -> None:
    """The current server's dispatcher has handed every event of the run to its broker,
    so no run's background delivery lands on the next run's figures."""
    deadline = time.monotonic() + STATUS_SETTLE_SECONDS
    end = asyncio.run(_value(url, OUTBOX_END))
    while asyncio.run(_value(url, BROKER_AT)) < end:
        if time.monotonic() > deadline:
            raise RuntimeError("the dispatcher did not catch up with the outbox")
        time.sleep(0.2)


def measure_status(opts: Options, folder: Path, url: str, backends: Backends, code: Path,
                   before: Path) -> StatusRun:
    pools = {name: seed_videos(url, "bench-transcoded", opts.per_run * opts.rounds + 1)
             for name in (CURRENT, BEFORE)}
    loads: list[dict[str, Load]] = []
    config = server_config(backends)
    with itube_server(folder, "current", code, config) as current, \
            itube_server(folder, "before", before, config) as old:
        servers = {CURRENT: current, BEFORE: old}
        for name, server in servers.items():
            check_status_change(server, pools[name][0])
        for number in range(opts.rounds):
            order = [CURRENT, BEFORE] if number % 2 == 0 else [BEFORE, CURRENT]
            found: dict[str, Load] = {}
            for name in order:
                start = 1 + number * opts.per_run
                ids = pools[name][start:start + opts.per_run]
                found[name] = _walk(folder, servers[name], url, ids, opts, f"{number}-{name[:3]}")
                load = found[name]
                failed = f", {load.failures} failed" if load.failures else ""
                print(f"  round {number + 1}: {name:18s} {load.per_second:7.0f} req/s, "
                      f"p99 {load.p99_ms:6.1f} ms, {load.cpu_us:6.1f} µs CPU{failed}",
                      flush=True)
            loads.append(found)
    return StatusRun(loads=loads)


# -- 2. the dispatcher through the webhooks sink ----------------------------------------------

class Receiver(ThreadingHTTPServer):
    """A webhook receiver answering 204, counting the distinct events it was sent."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.posts = 0
        self.connections = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), _ReceiverHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def count(self) -> int:
        with self.lock:
            return len(self.seen)


class _ReceiverHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keeps each sender's connection open

    def setup(self) -> None:
        super().setup()
        receiver = self.server
        assert isinstance(receiver, Receiver)
        with receiver.lock:
            receiver.connections += 1

    def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
        self.rfile.read(int(self.headers.get("content-length", 0)))
        receiver = self.server
        assert isinstance(receiver, Receiver)
        with receiver.lock:
            receiver.posts += 1
            receiver.seen.add(self.headers.get("webhook-id", ""))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


@contextlib.contextmanager
def receiving() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()


def webhooks_settings(receiver: Receiver) -> str:
    return f"""
[plugins.webhooks]
allow_private_addresses = true

[plugins.webhooks.endpoints.bench]
url = "{receiver.url}"
secret = "{WEBHOOK_SECRET}"
event_types = ["*"]
"""


async def record_events(url: str, count: int) -> None:
    """`count` video.status_changed events, recorded by core.events.record in one
    transaction: they become visible to the dispatcher together, at the commit."""
    from piccolo.engine.postgres import PostgresEngine

    from core.events import record
    from core.events.tables import EventOutbox

    engine = PostgresEngine(config={"dsn": url})
    EventOutbox._meta.db = engine
    await engine.start_connection_pool(min_size=1, max_size=1)
    try:
        async with engine.transaction():
            for index in range(count):
                video_id = str(uuid.uuid4())
                await record("video.status_changed", video_id, "bench-dispatched",
                             _video_data(video_id, index))
    finally:
        await engine.close_connection_pool()


def _video_data(video_id: str, index: int) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC).isoformat()
    return {"id": video_id, "title": f"Dispatched {index}", "description": "",
            "visibility": "PUBLIC", "processing_status": "COMPLETED",
            "user_id": "bench-dispatched",
            "uploader": {"id": "bench-dispatched", "name": "Bench"},
            "video_s3_key": f"videos/bench-dispatched/{video_id}.mp4",
            "thumbnail_s3_key": None, "size_bytes": 10_000_000, "content_type": "video/mp4",
            "duration_seconds": 120.0, "failure_reason": None, "created_at": now,
            "updated_at": now, "version": 2, "from": "IN_PROGRESS", "to": "COMPLETED",
            "reason": None}


@attrs.frozen
class Dispatch:
    events: int
    delivered: int
    posts: int
    connections: int  # TCP connections the receiver accepted
    cpu_seconds: float
    wall_seconds: float

    @property
    def cpu_per_thousand(self) -> float:
        return per_thousand(self.cpu_seconds, self.delivered)


@contextlib.contextmanager
def profiled(pid: int, output: str | None) -> Iterator[None]:
    """py-spy sampling `pid` into `output` (collapsed stacks) while the block runs; nothing
    when `output` is None. Sampling costs the server CPU: a profiled run's figures are
    not the benchmark's."""
    if not output:
        yield
        return
    py_spy = Path(sys.executable).with_name("py-spy")
    process = subprocess.Popen([str(py_spy), "record", "--pid", str(pid), "--format", "raw",
                                "--rate", "250", "--gil", "--output", output],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)  # py-spy attaches
        yield
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)


def measure_dispatch(folder: Path, backends: Backends, code: Path, runs: int,
                     profile: str | None = None) -> list[Dispatch]:
    """`runs` times DISPATCHED events, one server throughout (started before the first
    batch: the sink's offset is at the outbox's end once it is ready)."""
    found: list[Dispatch] = []
    with receiving() as receiver, itube_server(
            folder, "webhooks", code,
            server_config(backends, webhooks_settings(receiver), ["webhooks"])) as server, \
            profiled(server.pid, profile):
        for _ in range(runs):
            seen, posts, connections = receiver.count(), receiver.posts, receiver.connections
            cpu, clock = server.cpu_seconds(), time.perf_counter()
            asyncio.run(record_events(backends.database, DISPATCHED))
            while (receiver.count() - seen < DISPATCHED
                   and time.perf_counter() - clock < DELIVERY_SECONDS):
                time.sleep(0.05)
            found.append(Dispatch(
                events=DISPATCHED, delivered=receiver.count() - seen,
                posts=receiver.posts - posts, connections=receiver.connections - connections,
                cpu_seconds=server.cpu_seconds() - cpu, wall_seconds=time.perf_counter() - clock))
            print(f"  {found[-1]}", flush=True)
    return found


# -- 3. live streams on one worker --------------------------------------------------------------

@attrs.frozen
class Live:
    streams: int
    opened: int
    received: int
    rss_before_kib: int
    rss_open_kib: int
    fan_out_seconds: float

    @property
    def per_stream_kib(self) -> float:
        return (self.rss_open_kib - self.rss_before_kib) / self.streams if self.streams else 0


async def _stream(client: httpx.AsyncClient, opened: asyncio.Event, count: list[int],
                  ready: int, got: dict[int, float], index: int) -> None:
    async with client.stream("GET", f"{VIDEOS}/events") as answer:
        if answer.status_code != 200:
            raise RuntimeError(f"live stream: answered {answer.status_code}")
        async for line in answer.aiter_lines():
            if line.startswith(": open"):
                count[0] += 1
                if count[0] == ready:
                    opened.set()
            elif line.startswith("data:"):
                got[index] = time.perf_counter()
                return


async def _fan_out(server: Server, cookie: str, video_id: str, streams: int) -> Live:
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(FAN_OUT_SECONDS, connect=FAN_OUT_SECONDS)
    rss_before = rss_kib(server.pid)
    opened, count, got = asyncio.Event(), [0], dict[int, float]()
    async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=timeout,
                                 cookies={"access_token": cookie}) as client:
        tasks = [asyncio.create_task(_stream(client, opened, count, streams, got, index))
                 for index in range(streams)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(opened.wait(), FAN_OUT_SECONDS)
        rss_open = rss_kib(server.pid)
        clock = time.perf_counter()
        await asyncio.to_thread(check_status_change, server, video_id)
        done, pending = await asyncio.wait(tasks, timeout=FAN_OUT_SECONDS)
        for task in pending:
            task.cancel()
        for task in done:
            if task.exception() is not None:
                print(f"  a live stream failed: {task.exception()!r}", flush=True)
                break
    last = max(got.values(), default=clock)
    return Live(streams=streams, opened=count[0], received=len(got),
                rss_before_kib=rss_before, rss_open_kib=rss_open,
                fan_out_seconds=last - clock)


def measure_live(folder: Path, url: str, backends: Backends, code: Path) -> Live:
    extra = f"\n[plugins.video]\nlive_max_streams_per_user = {LIVE_STREAMS * 2}\n"
    with itube_server(folder, "live", code, server_config(backends, extra)) as server:
        cookie = access_cookie(server.base)
        owner = httpx.get(f"{server.base}/api/v1/auth/me", cookies={"access_token": cookie},
                          timeout=30).json()["id"]
        video_id = seed_videos(url, str(owner), 1)[0]
        return asyncio.run(_fan_out(server, cookie, video_id, LIVE_STREAMS))


# -- the report ------------------------------------------------------------------------------

@attrs.frozen
class EventsRun:
    opts: Options
    status: StatusRun
    dispatch: list[Dispatch]
    live: Live
    code: str
    started: str
    minutes: float
    load_before: str
    load_after: str


def _ratio(value: float | None) -> str:
    return "failed" if value is None else f"{value:.2f}×"


def markdown(run: EventsRun) -> str:
    cpu_ratio, rate_ratio = run.status.ratios()
    now_rate, now_cpu, now_failed = run.status.figure(CURRENT)
    old_rate, old_cpu, old_failed = run.status.figure(BEFORE)
    rounds = run.status.loads
    live = run.live
    per_1000 = statistics.median(d.cpu_per_thousand for d in run.dispatch)
    all_delivered = all(d.delivered == d.events for d in run.dispatch)
    met = "met" if cpu_ratio is not None and cpu_ratio <= 1.3 else "not met"
    lines = [
        "# Events benchmark", "",
        f"Run {run.started} on {run.code}; {run.minutes:.1f} minutes; "
        f"{run.opts.rounds} interleaved rounds of {run.opts.seconds:g} s "
        f"(+{run.opts.warmup_seconds:g} s warm-up), {run.opts.connections} connections; "
        f"load average {run.load_before} before, {run.load_after} after. "
        "Servers pinned to core 0, wrk to core 1; PostgreSQL. "
        "Produced by `make bench BENCH_ARGS=events` (bench/bench_events.py).", "",
        "## A status change with the outbox ÷ before it", "",
        "Service-signed `PATCH …/{id}/status` IN_PROGRESS → COMPLETED, each request over "
        f"a fresh video, against the current code and commit {BEFORE_OUTBOX} (before the "
        "outbox), both on one database migrated by the current code "
        "(`migrate_on_start = false`). CPU is the server process's own, per answer, from "
        "the run's start until its dispatcher has handed the run's events to the "
        "live-stream broker (so the outbox's background work is counted).", "",
        "| server | req/s (median) | µs CPU per answer (median) | failed answers |",
        "|---|---:|---:|---:|",
        f"| {CURRENT} | {now_rate:.0f} | {now_cpu:.0f} | {now_failed} |",
        f"| {BEFORE} | {old_rate:.0f} | {old_cpu:.0f} | {old_failed} |", "",
        f"CPU per answer, with ÷ before: **{_ratio(cpu_ratio)}** (target ≤ 1.3×: {met}); "
        f"req/s, with ÷ before: **{_ratio(rate_ratio)}**. Same-round CPU ratios: "
        + ", ".join(f"{r[CURRENT].cpu_us / r[BEFORE].cpu_us:.2f}" for r in rounds
                    if r[BEFORE].cpu_us) + ".", "",
        "## The dispatcher: 1,000 queued events through the webhooks sink", "",
        f"{DISPATCHED:,} `video.status_changed` events recorded by `core.events.record` in "
        "one transaction while a server with the webhooks plugin runs; from the commit "
        "until a local receiver (answering 204) has every event: the dispatcher reads the "
        "outbox, the sink queues one delivery per event, the delivery worker signs and "
        "POSTs each.", "",
        "| run | events delivered | POSTs received | connections | server CPU | "
        "CPU per 1,000 events | wall time |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *(f"| {number} | {d.delivered:,} of {d.events:,} | {d.posts:,} | {d.connections:,} | "
          f"{d.cpu_seconds:.2f} s | {d.cpu_per_thousand:.2f} s | {d.wall_seconds:.1f} s |"
          for number, d in enumerate(run.dispatch, 1)), "",
        f"Median CPU per 1,000 events: **{per_1000:.2f} s** (target: under 1 s: "
        + ("met" if all_delivered and per_1000 < 1 else "not met") + "). `connections` "
        "counts the TCP connections the receiver accepted (it keeps each open, HTTP/1.1).",
        "",
        "## 1,000 live streams on one worker", "",
        f"{live.streams:,} concurrent `GET …/events` of one user (cap raised), one worker; "
        "then one status change of that user's video.", "",
        "| streams opened (`: open`) | streams with the event | fan-out time | "
        "RSS before | RSS with the streams open | per stream |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {live.opened:,} | {live.received:,} | {live.fan_out_seconds * 1000:.0f} ms | "
        f"{live.rss_before_kib / 1024:.1f} MiB | {live.rss_open_kib / 1024:.1f} MiB | "
        f"{live.per_stream_kib:.1f} KiB |", "",
        "The fan-out time runs from sending the change (a signed PATCH, its answer "
        "included) until the last stream has the event's `data:` line.", "",
    ]
    return "\n".join(lines)


def measure(opts: Options, folder: Path, moto: str, prefix: str) -> EventsRun:
    started, load_before = dt.datetime.now(dt.UTC), machine.load_average()
    clock = time.perf_counter()
    code, measured, before = snapshot(folder), describe(), old_code(folder)

    def backends_for(url: str) -> Backends:
        return Backends(database=url, redis_url=REDIS_URL, redis_prefix=prefix, aws_endpoint=moto)

    with seeded_database(0, lambda url: migrate_config(folder, backends_for(url))) as data:
        backends = backends_for(data.url)
        print("status changes, with the outbox and before it", flush=True)
        status = measure_status(opts, folder, data.url, backends, code, before)
        print(f"the dispatcher: {DISPATCHED:,} events through the webhooks sink", flush=True)
        dispatch = measure_dispatch(folder, backends, code, 1 if opts.quick else 3)
        print(f"{LIVE_STREAMS:,} live streams on one worker", flush=True)
        live = measure_live(folder, data.url, backends, code)
        print(f"  {live}", flush=True)
    return EventsRun(opts=opts, status=status, dispatch=dispatch, live=live, code=measured,
                     started=started.strftime("%Y-%m-%d %H:%M UTC"),
                     minutes=(time.perf_counter() - clock) / 60, load_before=load_before,
                     load_after=machine.load_average())


def measure_dispatch_only(folder: Path, moto: str, prefix: str,
                          against: str | None) -> dict[str, list[Dispatch]]:
    """The dispatcher's figure alone, on a database of its own (no wrk needed); with
    `against` (a commit), that commit's code too, in alternating rounds. With
    ITUBE_BENCH_PROFILE=PATH, py-spy's collapsed stacks of the checkout's server go to
    PATH (a profiled run's CPU is not the benchmark's)."""
    codes = {"checkout": snapshot(folder)}
    if against:
        codes[f"commit {against}"] = old_code(folder, against)
    profile = os.environ.get("ITUBE_BENCH_PROFILE")
    found: dict[str, list[Dispatch]] = {name: [] for name in codes}

    def backends_for(url: str) -> Backends:
        return Backends(database=url, redis_url=REDIS_URL, redis_prefix=prefix, aws_endpoint=moto)

    with seeded_database(0, lambda url: migrate_config(folder, backends_for(url))) as data:
        for number in range(2 if against else 1):
            names = list(codes) if number % 2 == 0 else list(reversed(codes))
            for name in names:
                print(f"{name}:", flush=True)
                found[name] += measure_dispatch(
                    folder, backends_for(data.url), codes[name], 3,
                    profile if name == "checkout" and number == 0 else None)
    return found


def dispatch_main() -> None:
    """`--dispatch`: the dispatcher's figure of the checkout, and with
    ITUBE_BENCH_DISPATCH_AGAINST=COMMIT of that commit too, printed (docs/ untouched)."""
    missing = services_missing(REDIS_URL)
    if missing:
        print(missing)
        return
    prefix = f"itube-bench-{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="itube-bench-events-"))
    against = os.environ.get("ITUBE_BENCH_DISPATCH_AGAINST")
    with moto_server() as moto:
        found = measure_dispatch_only(work, moto, prefix, against)
    for name, runs in found.items():
        per_1000 = statistics.median(d.cpu_per_thousand for d in runs)
        delivered = all(d.delivered == d.events for d in runs)
        print(f"{name}: median CPU per 1,000 events {per_1000:.2f} s over {len(runs)} runs"
              + ("" if delivered else " (some events not delivered)"))
    print(f"server logs in {work}")


def main(args: Sequence[str] = ()) -> None:
    if "--dispatch" in args:
        dispatch_main()
        return
    blocker = load_test_blocker()
    if blocker:
        print(blocker)
        return
    opts = options(args)
    prefix = f"itube-bench-{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="itube-bench-events-"))  # kept: the servers' logs
    with moto_server() as moto:
        run = measure(opts, work, moto, prefix)
    folder = output_folder(opts.quick)
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / "benchmarks-events.md"
    document.write_text(markdown(run), encoding="utf-8")
    print(markdown(run))
    print(f"written: {document} ({run.minutes:.1f} minutes); server logs in {work}")


if __name__ == "__main__":
    main(sys.argv[1:])
