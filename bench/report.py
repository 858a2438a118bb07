"""docs/benchmarks.md: the load table, the p99 rows, memory, the machine and the chart,
then what the profiles found (kept by hand in bench/findings.md)."""

from __future__ import annotations

from pathlib import Path

import attrs

from bench.figures import Figure, RowResult
from bench.rounds import Options
from bench.wrk import THREADS, TIMEOUT_SECONDS

# Each fix with the profile line that motivated it and its row's ratio before and after:
# written by whoever made the fix, carried into every run's document.
FINDINGS = Path(__file__).with_name("findings.md")


@attrs.frozen
class Run:
    """Everything one run measured, and how."""

    options: Options
    rows: list[RowResult]
    p99_rows: list[RowResult]
    figures: list[Figure]
    rss_mib: dict[str, list[float]]
    walked: dict[str, list[tuple[int, int]]]
    machine: dict[str, str]
    code: str
    started: str
    minutes: float
    load_before: str
    load_after: str
    chart: str


def _rate(figure: Figure) -> str:
    if not figure.counts:
        return f"failed ({figure.failure_text() or 'no requests'})"
    return f"{figure.per_second:,.0f}"


def _ratio(result: RowResult) -> str:
    return "—" if result.ratio is None else f"{result.ratio:.2f}×"


def _target(result: RowResult) -> str:
    row = result.row
    if row.target is None:
        return "—"
    return f"≤ {row.target:g}×" if row.p99 else f"≥ {row.target:g}×"


def _met(result: RowResult) -> str:
    return {None: "—", True: "met", False: "**not met**"}[result.met]


def _rounds(result: RowResult) -> str:
    return " ".join(f"{ratio:.2f}" for ratio in result.round_ratios)


def _cpu(result: RowResult) -> str:
    if result.cpu_ratio is None:
        return "—"
    return (f"{result.itube.cpu_us:,.1f} / {result.baseline.cpu_us:,.1f} µs "
            f"({result.cpu_ratio:.2f}×)")


def table(run: Run) -> list[str]:
    lines = ["| path | itube req/s | baseline req/s | ratio | target | met | ratio per round "
             "| server CPU per answer, itube / baseline (ratio) |",
             "|---|---:|---:|---:|---:|---|---|---:|"]
    lines += [f"| {r.row.label} | {_rate(r.itube)} | {_rate(r.baseline)} | {_ratio(r)} | "
              f"{_target(r)} | {_met(r)} | {_rounds(r)} | {_cpu(r)} |" for r in run.rows]
    return lines


def p99_table(run: Run) -> list[str]:
    lines = ["| path | itube p99 | baseline p99 | ratio | target | met |",
             "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r.row.label} | {r.itube.p99_ms:,.1f} ms | {r.baseline.p99_ms:,.1f} ms | "
              f"{_ratio(r)} | {_target(r)} | {_met(r)} |" for r in run.p99_rows]
    return lines


def targets_table(run: Run) -> list[str]:
    lines = ["| target | req/s | p50 | p99 | server CPU per answer | requests | failed answers |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {f.name} | {f.per_second:,.0f} | {f.p50_ms:,.1f} ms | {f.p99_ms:,.1f} ms | "
              f"{f.cpu_us:,.1f} µs | {f.requests:,} | {f.failure_text() or 0} |"
              for f in run.figures]
    return lines


def memory_table(run: Run) -> list[str]:
    lines = ["| server | workers | RSS per worker (MiB) |", "|---|---:|---|"]
    lines += [f"| {name} | {len(sizes)} | {', '.join(f'{size:,.0f}' for size in sizes)} |"
              for name, sizes in run.rss_mib.items()]
    return lines


WALKS = ("The walks through Redis ask for ids no earlier run asked for; the in-process one "
         "and the bare select ask for the same ids in each round (the in-process cache starts "
         "empty with its server, the select has no cache).")


def walk_note(run: Run) -> str:
    repeats = [name for name, runs in run.walked.items()
               if any(requests > ids for requests, ids in runs)]
    if not repeats:
        return (f"{WALKS} No run asked for more ids than it had: every uncached get-by-id "
                "answer was a cache miss.")
    return (f"{WALKS} Some runs asked for more ids than they had, so they asked for some "
            "again (a cache hit where the server still holds the answer): "
            f"{', '.join(repeats)} (too few videos for this length).")


def markdown(run: Run) -> str:
    options = run.options
    mode = "quick mode: not the full figures" if options.quick else "full run"
    machine = "; ".join(f"{name} {value}" for name, value in run.machine.items())
    parts = [
        "# Benchmarks",
        "",
        f"The load table of `make bench BENCH_ARGS=load` ({mode}), written by the run of "
        f"{run.started} ({run.minutes:.0f} minutes). Each itube route beside a bare "
        "baseline doing the same irreducible work (`bench/baseline_app.py`: Starlette, "
        "asyncpg, redis-py, boto3, no itube code), measured in the same run.",
        "",
        f"How: wrk, {options.connections} connections, {THREADS} threads, "
        f"{options.warmup_seconds:g} s of warm-up then {options.seconds:g} s measured per "
        f"target, {TIMEOUT_SECONDS} s timeout; each server is one uvicorn worker (uvloop, "
        "httptools) pinned to core 0 (`taskset -c 0`), wrk pinned to core 1; PostgreSQL, "
        "Redis and moto are not pinned. The bare baseline runs throughout; the itube "
        "servers run one at a time beside it (started afresh in each round: each holds a "
        "database pool of 10, like the baseline's, and the shared PostgreSQL allows 100 "
        "connections). Views are written every second (`view_flush_seconds = 1`): an "
        "uncached walk's writes fall within its own measured seconds or the next target's "
        "warm-up, not within the next target's measurement. "
        f"{options.rounds} interleaved rounds: every target is measured once per round "
        "(odd rounds in reverse order), a row's ratio is the median of its same-round "
        "ratios, its req/s the median over rounds. A figure counts only if every one of its "
        "runs had 0 non-2xx answers, socket errors and timeouts; otherwise it shows as "
        "failed with the count and its row has no ratio. Beside each rate: the server "
        "process's own CPU time (user + system, read from /proc around each measured run, "
        "every worker counted) per answer, and the baseline's ÷ itube's, median of the "
        "rounds. It counts what the server itself spends and leaves out what waits on "
        "PostgreSQL, Redis or a busy machine, so it is steadier than the rates; it does not "
        "count the work PostgreSQL or Redis do for the answer.",
        "",
        f"Data: a fresh PostgreSQL database of {options.videos:,} videos (90% public and "
        f"completed), and a small one of {options.small_videos:,}, seeded by COPY and "
        "dropped at the end; Redis keys under a throwaway prefix, removed at the end; the "
        "AWS APIs (Cognito, S3) from one moto server. The code measured: "
        f"{run.code} (copied when the run started). The deep page is page "
        f"{options.deep_page} (20 per page), reached with the cursor its previous page "
        "ends with. Servers: itube with auth_cognito, internal_iam (static SigV4 keys) and "
        "the in-process cache; the same with the access log on; with auth_local; with "
        "cache_redis (1 worker, and 2 workers both on core 0, and 2 workers on cores 0-1 "
        "where core 1 is shared with wrk); on the small database, beside the bare keyset "
        "query there. Cookies come from a real "
        "sign-up and sign-in on each server. " + walk_note(run),
        "",
        "## Ratios",
        "",
        *table(run),
        "",
        f"![Each row's ratio beside its target]({run.chart})",
        "",
        "## p99 latency at " + f"{options.connections} connections",
        "",
        *p99_table(run),
        "",
        "## Every target",
        "",
        *targets_table(run),
        "",
        "## Memory",
        "",
        "Resident memory of each process answering requests, read after the last round.",
        "",
        *memory_table(run),
        "",
        "## Machine and conditions",
        "",
        machine + ".",
        "",
        f"Load average (1, 5, 15 min) before the run: {run.load_before}; after: "
        f"{run.load_after} (this run keeps about 2 busy: a server and wrk; more means "
        "other work shared the cores). Absolute req/s vary from run to run and from "
        "machine to machine: read the ratios, measured side by side in the same rounds, "
        "and their spread per round.",
        "",
    ]
    if FINDINGS.exists():
        parts += [FINDINGS.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(parts)
