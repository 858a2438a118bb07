"""The uploads table of docs/benchmarks-uploads.md: what starting a multipart upload costs
the API beside a single upload URL, and a large file sent through the emulator in parts
beside the same file in one PUT.

    make bench BENCH_ARGS=uploads              # about 5 minutes
    make bench BENCH_ARGS="uploads --quick"    # a smaller file, fewer requests

Cost is the server process's own CPU time per answer (user + system, from /proc), the
figure that stays steady on a shared machine, and the wall time per answer at CLIENTS
concurrent clients; each round asks for an upload URL, a multipart start, and URLs for the
same number of parts of an upload already started (a start without its S3 round trip),
and of a bare Starlette handler (bench/baseline_app.py) only a multipart upload started
through boto3 (a start's S3 round trip alone), odd rounds in reverse order, and a row is
the median of same-round ratios. The server is one itube worker on core 0 (auth_cognito,
in-process cache, PostgreSQL), the bare handler's uvicorn worker the same core in turn;
the emulator is moto's server in a process of its own.

Environment: ITUBE_BENCH_UPLOAD_ROUNDS (4), ITUBE_BENCH_UPLOAD_REQUESTS (400 a kind and
round), ITUBE_BENCH_UPLOAD_MIB (1024, the large file), ITUBE_BENCH_OUTPUT.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import attrs
import httpx

from bench import machine
from bench.accounts import access_cookie
from bench.processes import ROOT, Server, serving
from bench.seeding import seeded_database, services_missing
from bench.servers import Backends, Itube, baseline_launch, itube_config
from bench.snapshot import describe, snapshot
from tests.support.services import free_port

REDIS_URL = os.environ.get("ITUBE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
VIDEOS = "/api/v1/upload/videos"
CLIENTS = 8
MIB = 1024 * 1024
PART_URLS = 100  # URLs a multipart creation hands out at once, by default
UPLOAD_THREADS = 4
LARGE_FILE_PART_MIB = 16  # the large file's parts, chosen by the client (1 GiB: 64 parts)
TARGET_RATIO = 3.0
# The emulator answers a completion once the object is assembled, silent meanwhile (real
# S3 keeps the connection alive): the server waits for it rather than timing out.
SLOW_COMPLETION = "\n[aws]\nread_timeout_seconds = 300.0\nmax_attempts = 1\n"


@attrs.frozen
class Options:
    rounds: int
    requests: int
    file_mib: int
    quick: bool


def options(args: Sequence[str]) -> Options:
    quick = "--quick" in args
    env = os.environ.get
    return Options(
        rounds=int(env("ITUBE_BENCH_UPLOAD_ROUNDS", "2" if quick else "4")),
        requests=int(env("ITUBE_BENCH_UPLOAD_REQUESTS", "100" if quick else "400")),
        file_mib=int(env("ITUBE_BENCH_UPLOAD_MIB", "64" if quick else "1024")),
        quick=quick,
    )


@attrs.frozen
class Cost:
    cpu_us: float  # server CPU per answer
    wall_ms: float  # wall time per answer, at CLIENTS concurrent clients


@attrs.frozen
class Transfer:
    seconds: float
    parts: int
    part_mib: float


@contextlib.contextmanager
def moto_process(folder: Path) -> Iterator[str]:
    """moto's server in a process of its own, so its CPU is not the client's or the API's."""
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    with (folder / "moto.log").open("wb") as log:
        process = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(f"{base}/moto-api/", timeout=2)
                break
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(20)


def measured(server: Server, requests: int, ask: Callable[[httpx.Client], None],
             cookie: str) -> Cost:
    """`requests` answers from CLIENTS concurrent clients, each checked."""
    clients = [httpx.Client(base_url=server.base, cookies={"access_token": cookie}, timeout=30)
               for _ in range(CLIENTS)]
    try:
        for client in clients:  # connections open before the clock starts
            ask(client)
        cpu, clock = server.cpu_seconds(), time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda index: ask(clients[index % CLIENTS]), range(requests)))
        wall, cpu = time.perf_counter() - clock, server.cpu_seconds() - cpu
    finally:
        for client in clients:
            client.close()
    return Cost(cpu_us=cpu / requests * 1e6, wall_ms=wall / requests * 1e3 * CLIENTS)


def upload_url(client: httpx.Client) -> None:
    answer = client.post(f"{VIDEOS}/upload-url", json={"content_type": "video/mp4"})
    answer.raise_for_status()


def multipart_size(base: str, cookie: str) -> int:
    """A declared size whose creation hands out PART_URLS part URLs (its first batch)."""
    with httpx.Client(base_url=base, cookies={"access_token": cookie}, timeout=30) as client:
        size = PART_URLS * 16 * MIB
        created = client.post(f"{VIDEOS}/multipart", json={"content_type": "video/mp4",
                                                           "size_bytes": size})
        created.raise_for_status()
        body = created.json()
        size = max(size, body["part_size"] * PART_URLS)
        client.delete(f"{VIDEOS}/multipart/{body['upload_id']}").raise_for_status()
    return size


def multipart_creator(size: int) -> Callable[[httpx.Client], None]:
    def create(client: httpx.Client) -> None:
        answer = client.post(f"{VIDEOS}/multipart",
                             json={"content_type": "video/mp4", "size_bytes": size})
        answer.raise_for_status()
        if len(answer.json()["parts"]) != PART_URLS:
            raise RuntimeError(f"expected {PART_URLS} part URLs: {answer.text[:300]}")

    return create


def part_urls_asker(base: str, cookie: str, size: int) -> Callable[[httpx.Client], None]:
    """Asks for URLs for the first PART_URLS parts of one started upload: the same signing
    and answer as a start, a ledger read in place of its insert, and no S3 round trip."""
    with httpx.Client(base_url=base, cookies={"access_token": cookie}, timeout=30) as client:
        created = client.post(f"{VIDEOS}/multipart",
                              json={"content_type": "video/mp4", "size_bytes": size})
        created.raise_for_status()
    path = f"{VIDEOS}/multipart/{created.json()['upload_id']}/parts"
    wanted = {"parts": [{"number": number} for number in range(1, PART_URLS + 1)]}

    def ask(client: httpx.Client) -> None:
        answer = client.post(path, json=wanted)
        answer.raise_for_status()
        if len(answer.json()["parts"]) != PART_URLS:
            raise RuntimeError(f"expected {PART_URLS} part URLs: {answer.text[:300]}")

    return ask


def bare_start(client: httpx.Client) -> None:
    answer = client.post("/multipart")
    answer.raise_for_status()


def write_file(path: Path, mib: int) -> None:
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(os.urandom(MIB))


def read_part(path: Path, offset: int, size: int) -> bytes:
    with path.open("rb") as source:
        source.seek(offset)
        return source.read(size)


def single_put(base: str, cookie: str, path: Path) -> float:
    size = path.stat().st_size
    with httpx.Client(base_url=base, cookies={"access_token": cookie}, timeout=600) as api:
        issued = api.post(f"{VIDEOS}/upload-url",
                          json={"content_type": "video/mp4", "size_bytes": size})
        issued.raise_for_status()
        body = issued.json()
    clock = time.perf_counter()
    with path.open("rb") as source:
        answer = httpx.request(body["method"], body["url"], headers=body["headers"],
                               content=source, timeout=600)
    answer.raise_for_status()
    return time.perf_counter() - clock


def multipart_put(base: str, cookie: str, path: Path) -> Transfer:
    size = path.stat().st_size
    with httpx.Client(base_url=base, cookies={"access_token": cookie}, timeout=600) as api:
        clock = time.perf_counter()
        created = api.post(f"{VIDEOS}/multipart",
                           json={"content_type": "video/mp4", "size_bytes": size,
                                 "part_size": LARGE_FILE_PART_MIB * MIB})
        created.raise_for_status()
        upload = created.json()
        parts = list(upload["parts"])
        while len(parts) < upload["part_count"]:
            more = api.get(f"{VIDEOS}/multipart/{upload['upload_id']}",
                           params={"from": len(parts) + 1})
            more.raise_for_status()
            parts += [part for part in more.json()["parts"] if part["number"] > len(parts)]
        part_size = upload["part_size"]

        def send(part: dict) -> None:
            data = read_part(path, (part["number"] - 1) * part_size, part_size)
            answer = httpx.request(part["method"], part["url"], headers=part["headers"],
                                   content=data, timeout=600)
            answer.raise_for_status()

        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            list(pool.map(send, parts))
        done = completed(api, upload["upload_id"])
        seconds = time.perf_counter() - clock
    if done["size_bytes"] != size:
        raise RuntimeError(f"completed with the wrong size: {done}")
    return Transfer(seconds=seconds, parts=upload["part_count"], part_mib=part_size / MIB)


def completed(api: httpx.Client, upload_id: str) -> dict:
    """Complete the upload. The emulator assembles a large object for longer than the API's
    AWS read timeout (real S3 keeps the connection alive meanwhile): then the answer is a
    503, and the next request for the upload, once the object is there, finishes it (as
    docs/uploads.md says); the time this takes counts."""
    done = api.post(f"{VIDEOS}/multipart/{upload_id}/complete", json={})
    deadline = time.monotonic() + 300
    while done.status_code == 503 and time.monotonic() < deadline:
        time.sleep(1)
        asked = api.get(f"{VIDEOS}/multipart/{upload_id}")
        if asked.status_code == 200 and asked.json()["state"] == "COMPLETED":
            # completing a completed upload answers what its completion did
            done = api.post(f"{VIDEOS}/multipart/{upload_id}/complete", json={})
    done.raise_for_status()
    return done.json()


@attrs.frozen
class Round:
    upload_url: Cost
    multipart: Cost
    part_urls: Cost  # URLs for PART_URLS parts of a started upload: a start without S3
    bare_start: Cost  # a bare handler starting a multipart upload through boto3: S3 alone


def median_ratio(rounds: list[Round], kind: str, field: str) -> float:
    return statistics.median(getattr(getattr(one, kind), field)
                             / getattr(one.upload_url, field) for one in rounds)


def markdown(opts: Options, rounds: list[Round], single: float,
             parts: Transfer, started: str, code: str, facts: str) -> str:
    cpu = median_ratio(rounds, "multipart", "cpu_us")
    verdict = "met" if cpu <= TARGET_RATIO else "not met"
    rows = "\n".join(
        f"| {number} | {one.upload_url.cpu_us:,.0f} | {one.multipart.cpu_us:,.0f} | "
        f"{one.multipart.cpu_us / one.upload_url.cpu_us:.2f} | {one.part_urls.cpu_us:,.0f} | "
        f"{one.part_urls.cpu_us / one.upload_url.cpu_us:.2f} | {one.bare_start.cpu_us:,.0f} | "
        f"{one.bare_start.cpu_us / one.upload_url.cpu_us:.2f} | {one.upload_url.wall_ms:.2f} | "
        f"{one.multipart.wall_ms:.2f} |"
        for number, one in enumerate(rounds, 1))
    return f"""# Upload benchmarks

Measured {started} on {facts}; code {code}. `make bench BENCH_ARGS=uploads` writes this
page; bench/bench_uploads.py says how.

## Starting an upload: a multipart upload with {PART_URLS} part URLs ÷ one upload URL

Target: at most {TARGET_RATIO:g}× the cost. Median of same-round ratios of the server's
CPU per answer: **{cpu:.2f}×** ({verdict}); of wall time per answer at {CLIENTS} clients:
{median_ratio(rounds, "multipart", "wall_ms"):.2f}×. {opts.requests} answers of each kind
per round.

Beside them, what a start costs without its S3 round trip: URLs for the first {PART_URLS}
parts of an upload already started (`POST …/multipart/{{upload_id}}/parts`: the same
signing and an answer of the same size, a ledger read in place of the ledger insert, no S3
call, and a body of {PART_URLS} part numbers to parse, which a start does not have):
**{median_ratio(rounds, "part_urls", "cpu_us"):.2f}×** an upload URL. And the S3 round
trip alone: a bare Starlette handler that only starts a multipart upload through boto3 in a
worker thread, as itube does (no session, no ledger, no part URLs, a 40-byte answer), costs
its server **{median_ratio(rounds, "bare_start", "cpu_us"):.2f}×** itube's upload URL.

| round | upload-url CPU µs | multipart CPU µs | ratio | {PART_URLS} part URLs CPU µs | ratio | \
bare boto3 start CPU µs | ratio | upload-url ms | multipart ms |
|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
{rows}

A multipart creation also asks S3 for an upload id (CreateMultipartUpload, a network round
trip through boto3) and writes a ledger row; an upload URL is signed in memory only.

## {opts.file_mib:,} MiB through the emulator

| how | seconds | MiB/s |
|---|---:|---:|
| one presigned PUT | {single:.1f} | {opts.file_mib / single:,.0f} |
| multipart: {parts.parts} parts of {parts.part_mib:g} MiB, {UPLOAD_THREADS} at a time, \
then complete | {parts.seconds:.1f} | {opts.file_mib / parts.seconds:,.0f} |

The emulator keeps objects in memory and assembles the parts on completion, silent
meanwhile: the server's AWS read timeout is raised to 300 s for this run (real S3 keeps the
connection alive while it assembles). Real S3 takes parts in parallel from many
connections, which is where multipart gains.
"""


def measure(opts: Options, folder: Path) -> str:
    started = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = machine.load_average()
    code, measured_code = snapshot(folder), describe()
    server_kind = Itube("cognito")
    with moto_process(folder) as moto:
        backends = Backends(database="", redis_url=REDIS_URL, redis_prefix="unused",
                            aws_endpoint=moto)

        def config_for(url: str) -> Path:
            path = folder / f"itube-{uuid.uuid4().hex[:6]}.toml"
            path.write_text(itube_config(server_kind, attrs.evolve(backends, database=url))
                            + SLOW_COMPLETION, encoding="utf-8")
            return path

        with seeded_database(1000, config_for) as seeded:
            config = config_for(seeded.url)
            command = [str(Path(sys.executable).with_name("itube")), "serve", "--config",
                       str(config), "--host", "127.0.0.1", "--workers", "1"]
            body_file = folder / "body.json"
            body_file.write_bytes(b"{}")
            bare_command, bare_env = baseline_launch(
                attrs.evolve(backends, database=seeded.url), body_file, "unused")
            with serving(lambda port: [*command, "--port", str(port)], {}, "/readyz",
                         folder / "itube.log", code=code) as server, \
                    serving(bare_command, bare_env, "/fixed", folder / "bare.log",
                            code=code) as bare:
                cookie = access_cookie(server.base)
                size = multipart_size(server.base, cookie)
                kinds = {"upload_url": (server, upload_url),
                         "multipart": (server, multipart_creator(size)),
                         "part_urls": (server, part_urls_asker(server.base, cookie, size)),
                         "bare_start": (bare, bare_start)}
                rounds = []
                for number in range(opts.rounds):
                    order = list(kinds) if number % 2 == 0 else list(reversed(kinds))
                    costs = {}
                    for kind in order:
                        target, ask = kinds[kind]
                        costs[kind] = measured(target, opts.requests, ask, cookie)
                    print(f"round {number + 1}: " + ", ".join(
                        f"{kind} {cost.cpu_us:,.0f} µs" for kind, cost in costs.items()),
                        flush=True)
                    rounds.append(Round(**costs))
                large = folder / "large.bin"
                write_file(large, opts.file_mib)
                single_seconds = single_put(server.base, cookie, large)
                parts = multipart_put(server.base, cookie, large)
                large.unlink()
            facts = machine_facts(seeded.url, load_before)
    return markdown(opts, rounds, single_seconds, parts, started, measured_code, facts)


def machine_facts(database_url: str, load_before: str) -> str:
    found = machine.facts(database_url, REDIS_URL)
    return (f"{found['cores']} cores ({found['cpu']}), Python {found['python']}, "
            f"PostgreSQL {found['PostgreSQL']}, moto {found.get('moto', '?')}; load average "
            f"{load_before} before, {machine.load_average()} after")


def main(args: Sequence[str] = ()) -> None:
    missing = services_missing(REDIS_URL)
    if missing:
        print(missing)
        return
    opts = options(args)
    work = Path(tempfile.mkdtemp(prefix="itube-bench-uploads-"))
    text = measure(opts, work)
    chosen = os.environ.get("ITUBE_BENCH_OUTPUT")
    folder = Path(chosen) if chosen else (
        Path(tempfile.gettempdir()) / "itube-bench-quick" if opts.quick else ROOT / "docs")
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / "benchmarks-uploads.md"
    document.write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {document}; server logs in {work}")


if __name__ == "__main__":
    main(sys.argv[1:])
