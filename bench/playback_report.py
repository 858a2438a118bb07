"""docs/benchmarks-playback.md from one run of bench/bench_playback.py."""

from __future__ import annotations

import attrs

from bench.playback_data import MP4_HEIGHTS, SEGMENTS
from bench.playback_rewrite import ColdRewrite
from bench.playback_scenarios import ROWS, TARGETS, Rounds, Row
from bench.wrk import THREADS


@attrs.frozen
class PlaybackRun:
    rounds: Rounds
    cold: ColdRewrite
    rounds_count: int
    seconds: float
    warmup_seconds: float
    connections: int
    window_seconds: int
    quick: bool
    code: str
    started: str
    minutes: float
    machine: dict[str, str]
    load_before: str
    load_after: str


def _ratio(value: float | None) -> str:
    return "failed" if value is None else f"{value:.2f}×"


def _met(row: Row, value: float | None) -> str:
    if value is None:
        return "no figure"
    return "met" if row.met(value) else "not met"


def ratio_table(run: PlaybackRun) -> list[str]:
    lines = ["| row | CPU per answer | req/s | target | met | same-round ratios of the target's "
             "measure |", "|---|---:|---:|---:|---|---|"]
    for row in ROWS:
        cpu, rate = run.rounds.ratio(row, "cpu_us"), run.rounds.ratio(row, "per_second")
        rounds = ", ".join(f"{value:.2f}" for value in run.rounds.per_round(row, row.measure))
        lines.append(f"| {row.label} | {_ratio(cpu)} | {_ratio(rate)} | {row.target_text} | "
                     f"{_met(row, cpu if row.measure == 'cpu_us' else rate)} | {rounds} |")
    return lines


def targets_table(run: PlaybackRun) -> list[str]:
    lines = ["| target | req/s (median) | µs CPU per answer (median) | p99 (median) | "
             "failed answers |", "|---|---:|---:|---:|---:|"]
    for target in TARGETS:
        failed = run.rounds.failures(target)
        lines.append(f"| {target.name} | {run.rounds.median(target, 'per_second'):,.0f} | "
                     f"{run.rounds.median(target, 'cpu_us'):,.0f} | "
                     f"{run.rounds.median(target, 'p99_ms'):,.1f} ms | {failed} |")
    return lines


def window_note(run: PlaybackRun) -> str:
    changes = int(run.seconds // max(run.window_seconds, 1))
    if changes:
        return (f"each measured run of {run.seconds:g} s spans at least {changes} window "
                "change(s), so re-signing the playlist is in its figure")
    return (f"a measured run of {run.seconds:g} s may fall within one window: this run's "
            "playlist figures may hold no re-signing")


def markdown(run: PlaybackRun) -> str:
    cold = run.cold
    mode = "quick mode: not the full figures" if run.quick else "full run"
    facts = "; ".join(f"{name} {value}" for name, value in run.machine.items())
    mp4s = "/".join(str(height) for height in MP4_HEIGHTS)
    lines = [
        "# Playback benchmark", "",
        f"Run {run.started} ({mode}) on {run.code}; {run.minutes:.1f} minutes; "
        f"{run.rounds_count} interleaved rounds of {run.seconds:g} s "
        f"(+{run.warmup_seconds:g} s warm-up) per target, {run.connections} connections, "
        f"{THREADS} wrk threads. Produced by `make bench BENCH_ARGS=playback` "
        "(bench/bench_playback.py).", "",
        "## Ratios", "",
        *ratio_table(run), "",
        "Each ratio is the median of the same-round ratios; a figure counts only if every "
        "run of both sides had 0 non-2xx answers, socket errors and timeouts. CPU per answer "
        "is the server process's own CPU time (user + system, from /proc around each "
        "measured run) divided by its answers: steadier than req/s on a shared machine, and "
        "blind to the work PostgreSQL and Redis do.", "",
        "## What each target is", "",
        f"- **get-by-id**: `GET /api/v1/upload/videos/{{id}}` of a COMPLETED PRIVATE video by "
        "its owner (so every URL is presigned), one with six outputs (an HLS master, MP4s "
        f"of {mp4s} lines, a poster: the `hls` becomes the manifest route, five URLs are "
        "presigned) and one without (one presigned URL, `playback_url`); neither has a "
        "thumbnail of its own. The answer is served from the cache (cache_redis) as rendered "
        "JSON, as every get-by-id after the first within `cache_ttl_seconds`.",
        "- **/mine**: `GET …/mine?limit=20` of an owner whose 20 newest videos are such "
        "private videos, with six outputs each or none: rendered every request, each URL "
        "looked up in the window signer's table (signed once a window).",
        f"- **playlist**: `GET …/{{id}}/playback/hls/v0/index.m3u8`, a VOD media playlist of "
        f"{SEGMENTS} segments stored in the emulated processed bucket ({cold.source_bytes:,} "
        f"bytes; {cold.rewritten_bytes:,} bytes rewritten), every segment presigned: by the "
        "owner of a private video, and anonymously for a public one. The playlist text is "
        "kept in Redis (cache_redis); the rewritten bytes in the process per signing window. "
        f"`media_url_window_seconds` is {run.window_seconds} instead of the default 60 so "
        f"that {window_note(run)}; every request also decides access from the video's "
        "cached entry (one Redis GET) and the signed-in one verifies its access token.",
        "- **bare**: bench/baseline_app.py's `/playlist`, the same playlist text read from "
        "the same Redis on every request: no signing, no access check, no database.", "",
        "## Every target", "",
        *targets_table(run), "",
        "## One cold rewrite, in-process", "",
        f"Rewriting the {SEGMENTS}-segment playlist with a fresh presigner (nothing signed in "
        f"its window yet, as at a window's first request): **{cold.cpu_ms:.1f} ms** of CPU "
        f"({cold.wall_ms:.1f} ms wall), {cold.urls} URLs signed, median of repeated rewrites "
        "in the benchmark's own process (not pinned). A window's first request per process "
        "and video pays it once; every other request in the window gets the kept bytes.", "",
        "## Machine and conditions", "",
        "One itube worker (uvicorn, uvloop, httptools; auth_cognito, internal_iam, "
        "cache_redis; PostgreSQL, a fresh database with the videos COPYed in, their "
        "`outputs` column as the status route stores it) and the baseline (one uvicorn "
        "worker), both pinned to core 0 (`taskset -c 0`), wrk pinned to core 1; PostgreSQL, "
        "Redis and moto (in the benchmark's process) are not pinned. Cookies from a real "
        "sign-up and sign-in.", "",
        facts + ".", "",
        f"Load average (1, 5, 15 min) before the run: {run.load_before}; after: "
        f"{run.load_after}. Absolute req/s vary from run to run and machine to machine: read "
        "the ratios, measured side by side in the same rounds.", "",
    ]
    return "\n".join(lines)
