"""The playback table of docs/benchmarks-playback.md (issue 15's performance section): what
six renditions add to a video answer, and a rewritten 500-segment HLS playlist beside the
same playlist served from Redis without signing.

    make bench BENCH_ARGS=playback              # the full run: about 5 minutes
    make bench BENCH_ARGS="playback --quick"    # a try in about a minute (not in docs/)

1. A completed PRIVATE video asked for by its owner (so its URLs are presigned), one with
   six outputs (an HLS master, four MP4s, a poster) and one without; and `/mine`, 20 such
   videos each. Cost is the server's CPU per answer; a row is the median of same-round
   ratios (req/s ratios beside it).
2. `GET …/{id}/playback/hls/v0/index.m3u8`, a 500-segment media playlist stored in the
   emulated processed bucket, rewritten with every segment presigned: by the owner of a
   private video, and anonymously for a public one. The baseline is bench/baseline_app.py's
   `/playlist`: the same text from the same Redis, no signing, no access check. Signing
   windows are ITUBE_BENCH_PLAYBACK_WINDOW seconds (5) instead of the default 60, so every
   measured run spans a window change and its re-signing counts. One cold rewrite (500 URLs
   signed by a fresh presigner) is timed in-process as well.

One itube worker (auth_cognito, internal_iam, cache_redis, PostgreSQL) and the baseline, both
pinned to core 0, wrk to core 1; interleaved rounds (odd ones reversed); a figure counts
only with 0 non-2xx answers, socket errors and timeouts. Videos are COPYed into a fresh
database with their `outputs` column as the status route stores it.

Environment: ITUBE_BENCH_ROUNDS (4), ITUBE_BENCH_SECONDS (8), ITUBE_BENCH_WARMUP (1),
ITUBE_BENCH_CONNECTIONS (32), ITUBE_BENCH_PLAYBACK_WINDOW (5), ITUBE_BENCH_OUTPUT.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import attrs
import httpx

from bench import machine
from bench.accounts import access_cookie
from bench.bench_load import REDIS_URL, load_test_blocker, moto_server, output_folder
from bench.playback_data import SEGMENTS, Owned, media_playlist, renditions_of, seed
from bench.playback_report import PlaybackRun, markdown
from bench.playback_rewrite import (
    PROCESSED_BUCKET,
    SIGNATURE,
    cold_rewrite,
    s3_client,
    signed_segments,
    store_playlists,
)
from bench.playback_scenarios import (
    BASELINE,
    GET_PLAIN,
    GET_RICH,
    ITUBE,
    MINE_PLAIN,
    MINE_RICH,
    PLAYLIST_BARE,
    PLAYLIST_PRIVATE,
    PLAYLIST_PUBLIC,
    Rounds,
    Target,
    round_order,
)
from bench.processes import Server, itube_command, serving
from bench.seeding import delete_keys, seeded_database
from bench.servers import Backends, Itube, baseline_launch, itube_config
from bench.snapshot import describe, snapshot
from bench.wrk import Load, wrk

SERVER = Itube("cache_redis", redis=True)
PAGE = 20


@attrs.frozen
class Options:
    rounds: int
    seconds: float
    warmup_seconds: float
    connections: int
    window_seconds: int
    quick: bool


def options(args: Sequence[str]) -> Options:
    quick = "--quick" in args
    env = os.environ.get
    return Options(rounds=int(env("ITUBE_BENCH_ROUNDS", "1" if quick else "4")),
                   seconds=float(env("ITUBE_BENCH_SECONDS", "3" if quick else "8")),
                   warmup_seconds=float(env("ITUBE_BENCH_WARMUP", "1")),
                   connections=int(env("ITUBE_BENCH_CONNECTIONS", "32")),
                   window_seconds=int(env("ITUBE_BENCH_PLAYBACK_WINDOW", "5")), quick=quick)


def server_config(backends: Backends, window_seconds: int) -> str:
    return (itube_config(SERVER, backends)
            + f"\n[plugins.video]\nmedia_url_window_seconds = {window_seconds}\n")


@attrs.frozen
class Stage:
    """What the targets need: the servers, the callers' cookies, the ids asked for."""

    servers: dict[str, Server]
    cookies: dict[str, str]
    ids: dict[str, str]

    def url(self, target: Target) -> str:
        return self.servers[target.server].base + target.url_path(self.ids)

    def headers(self, target: Target) -> dict[str, str]:
        cookie = self.cookies.get(target.caller)
        return {"Cookie": f"access_token={cookie}"} if cookie else {}


def fetched(stage: Stage, target: Target) -> httpx.Response:
    answer = httpx.get(stage.url(target), headers=stage.headers(target), timeout=30)
    if answer.status_code != 200:
        raise RuntimeError(f"{target.name}: answered {answer.status_code}: {answer.text[:300]}")
    return answer


def check_answers(stage: Stage) -> None:
    """Each target answers what it stands for, before anything is measured: six renditions
    or none, a full page, every segment of the playlist presigned (or none, bare)."""
    for target, count in {GET_RICH: 6, GET_PLAIN: 0}.items():
        if renditions_of(fetched(stage, target).content) != count:
            raise RuntimeError(f"{target.name}: not {count} renditions")
    for target, count in {MINE_RICH: 6, MINE_PLAIN: 0}.items():
        page = fetched(stage, target).json()
        if len(page) != PAGE or any(len(video["renditions"]) != count for video in page):
            raise RuntimeError(f"{target.name}: not {PAGE} videos of {count} renditions")
    if SIGNATURE not in str(fetched(stage, GET_PLAIN).json()["playback_url"]):
        raise RuntimeError(f"{GET_PLAIN.name}: the playback URL is not presigned")
    for target in (PLAYLIST_PRIVATE, PLAYLIST_PUBLIC):
        if signed_segments(fetched(stage, target).text) != SEGMENTS:
            raise RuntimeError(f"{target.name}: not {SEGMENTS} presigned segments")
    if fetched(stage, PLAYLIST_BARE).text != media_playlist():
        raise RuntimeError(f"{PLAYLIST_BARE.name}: not the stored playlist")


def run_target(stage: Stage, target: Target, opts: Options) -> Load:
    """A warm-up run, then the measured one, with the server's CPU per answer."""
    server, url, headers = stage.servers[target.server], stage.url(target), stage.headers(target)
    wrk(url, opts.warmup_seconds, opts.connections, headers=headers)
    before = server.cpu_seconds()
    load = wrk(url, opts.seconds, opts.connections, headers=headers)
    spent = server.cpu_seconds() - before
    return attrs.evolve(load, cpu_us=spent / load.requests * 1e6 if load.requests else 0.0)


def measure_rounds(stage: Stage, opts: Options) -> Rounds:
    loads: list[dict[str, Load]] = []
    for number in range(opts.rounds):
        found: dict[str, Load] = {}
        for target in round_order(number):
            load = found[target.name] = run_target(stage, target, opts)
            failed = f", {load.failure_text()}" if load.failures else ""
            print(f"  round {number + 1}: {target.name:48s} {load.per_second:7.0f} req/s, "
                  f"{load.cpu_us:7.1f} µs CPU{failed}", flush=True)
        loads.append(found)
    return Rounds(loads=loads)


def owner_id(base: str, cookie: str) -> str:
    answer = httpx.get(f"{base}/api/v1/auth/me", cookies={"access_token": cookie}, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["id"])


def prepare(server: Server, database: str, moto: str, redis_key: str) -> Stage:
    """Two signed-in owners and their videos: PAGE private ones with six outputs (and one
    public), PAGE private ones without; the playlist in the bucket and in Redis."""
    cookies = {caller: access_cookie(server.base) for caller in ("rich", "plain")}
    rich = Owned.new(owner_id(server.base, cookies["rich"]), PAGE, with_outputs=True)
    plain = Owned.new(owner_id(server.base, cookies["plain"]), PAGE, with_outputs=False)
    public = Owned.new(rich.owner, 1, with_outputs=True, visibility="PUBLIC")
    # The public video is older than the rich owner's private page: `/mine` shows PAGE
    # private videos only.
    seed(database, [public, rich, plain])
    text = media_playlist()
    store_playlists(s3_client(moto), [rich.key_of(rich.ids[0]), public.key_of(public.ids[0])],
                    text, REDIS_URL, redis_key)
    return Stage(servers={ITUBE: server}, cookies=cookies,
                 ids={"rich": str(rich.ids[0]), "plain": str(plain.ids[0]),
                      "public": str(public.ids[0])})


def measure(opts: Options, folder: Path, moto: str, prefix: str) -> PlaybackRun:
    started, load_before = dt.datetime.now(dt.UTC), machine.load_average()
    clock = time.perf_counter()
    code, measured_code = snapshot(folder), describe()

    def backends_for(url: str) -> Backends:
        return Backends(database=url, redis_url=REDIS_URL, redis_prefix=prefix,
                        aws_endpoint=moto)

    def config_for(url: str) -> Path:
        path = folder / f"itube-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(server_config(backends_for(url), opts.window_seconds), encoding="utf-8")
        return path

    redis_key = f"{prefix}-baseline:playlist"
    with seeded_database(0, config_for) as data:
        config = config_for(data.url)
        body_file = folder / "fixed.json"
        body_file.write_text("{}", encoding="utf-8")
        command_for, env = baseline_launch(backends_for(data.url), body_file, f"{prefix}-fixed")
        with serving(lambda port: itube_command(config, port, 1), {}, "/readyz",
                     folder / "itube.log", code=code) as server, \
                serving(command_for, {**env, "ITUBE_BENCH_PLAYLIST_KEY": redis_key}, "/fixed",
                        folder / "baseline.log", code=code) as baseline:
            stage = prepare(server, data.url, moto, redis_key)
            stage = attrs.evolve(stage, servers={ITUBE: server, BASELINE: baseline})
            check_answers(stage)
            rounds = measure_rounds(stage, opts)
        facts = machine.facts(data.url, REDIS_URL)
    print("one cold rewrite, in-process", flush=True)
    cold = cold_rewrite(s3_client(moto), PROCESSED_BUCKET, opts.window_seconds)
    return PlaybackRun(
        rounds=rounds, cold=cold, rounds_count=opts.rounds, seconds=opts.seconds,
        warmup_seconds=opts.warmup_seconds, connections=opts.connections,
        window_seconds=opts.window_seconds, quick=opts.quick, code=measured_code,
        started=started.strftime("%Y-%m-%d %H:%M UTC"),
        minutes=(time.perf_counter() - clock) / 60, machine=facts,
        load_before=load_before, load_after=machine.load_average())


def main(args: Sequence[str] = ()) -> None:
    blocker = load_test_blocker()
    if blocker:
        print(blocker)
        return
    opts = options(args)
    prefix = f"itube-bench-{uuid.uuid4().hex[:8]}"
    work = Path(tempfile.mkdtemp(prefix="itube-bench-playback-"))  # kept: the servers' logs
    try:
        with moto_server() as moto:
            run = measure(opts, work, moto, prefix)
    finally:
        delete_keys(REDIS_URL, prefix)
    folder = output_folder(opts.quick)
    folder.mkdir(parents=True, exist_ok=True)
    document = folder / "benchmarks-playback.md"
    text = markdown(run)
    document.write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {document} ({run.minutes:.1f} minutes); server logs in {work}")


if __name__ == "__main__":
    main(sys.argv[1:])
