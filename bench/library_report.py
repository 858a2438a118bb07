"""docs/benchmarks-library.md: the library table, every target, the deletion worker's
purge after each delete run, memory and the machine."""

from __future__ import annotations

import attrs

from bench.library_data import DESCRIPTION_WORDS, TITLE_WORDS, VOCABULARY
from bench.library_scenarios import DRAIN_SECONDS
from bench.report import Run, memory_table, table, targets_table
from bench.wrk import THREADS, TIMEOUT_SECONDS


@attrs.frozen
class Drain:
    """The deletion worker after one delete run: the jobs it had left, how many it did
    within the wait, how long it had, and its server CPU per job done."""

    pending: int
    purged: int
    seconds: float
    cpu_us: float


@attrs.frozen
class LibraryRun:
    run: Run
    matches: int  # public videos matching the search
    word: str
    drains: list[Drain]
    fresh_per_run: int  # fresh ids each write run had


def drain_table(drains: list[Drain]) -> list[str]:
    lines = ["| delete run | jobs left when it ended | purged while waiting | waited | "
             "server CPU per purged job |", "|---:|---:|---:|---:|---:|"]
    lines += [f"| {number} | {drain.pending:,} | {drain.purged:,} | {drain.seconds:.1f} s | "
              f"{drain.cpu_us:,.0f} µs |" for number, drain in enumerate(drains, 1)]
    return lines


def walk_note(library: LibraryRun) -> str:
    short = [name for name, runs in library.run.walked.items()
             if any(requests > ids for requests, ids in runs)]
    if not short:
        return ("Every write run had fresh ids to spare: no video was edited or deleted "
                "twice, no upload registered twice.")
    return (f"Some write runs asked for more than their fresh ids ({', '.join(short)}): the "
            "repeats were refused (a 412, 404 or 409) and the figure counts as failed; raise "
            "ITUBE_BENCH_WRITE_RATE.")


def markdown(library: LibraryRun) -> str:
    run, options = library.run, library.run.options
    mode = "quick mode: not the full figures" if options.quick else "full run"
    machine = "; ".join(f"{name} {value}" for name, value in run.machine.items())
    deep = f"page {options.deep_page}"
    parts = [
        "# Benchmarks: the library",
        "",
        f"The table of `make bench BENCH_ARGS=library` ({mode}), written by the run of "
        f"{run.started} ({run.minutes:.0f} minutes): listings in each order at page 1 and at "
        "depth, a search beside the unfiltered listing at the same depth, and the owner's "
        "edit and delete beside metadata creation. Each row divides two targets of the same "
        "itube server measured in the same round: the cost of one route against another's, "
        "not against a bare baseline (that is docs/benchmarks.md).",
        "",
        f"How: as the load table (docs/benchmarks.md): wrk, {options.connections} "
        f"connections, {THREADS} threads, {options.warmup_seconds:g} s of warm-up then "
        f"{options.seconds:g} s measured per target, {TIMEOUT_SECONDS} s timeout; one itube "
        "server (auth_cognito, internal_iam, the in-process cache; one uvicorn worker) "
        "pinned to core 0, wrk pinned to core 1, PostgreSQL and the moto server (S3, "
        "Cognito) not pinned. The server runs through every round (its signed-in owner's "
        "videos are seeded for it). "
        f"{options.rounds} interleaved rounds (odd ones in reverse order); a row's ratio is "
        "the median of its same-round ratios of requests/s; a figure counts only with 0 "
        "non-2xx answers, socket errors and timeouts. Beside each rate, the server's own "
        "CPU time per answer (/proc, around each measured run) and the ratio of those: "
        "steadier than the rates, and blind to the time PostgreSQL and moto spend. The "
        "relevance targets read their pages from the ranking itube keeps in its cache "
        "(`search_results_ttl_seconds`, 60 s, the default): the first request, and one a "
        "minute after, ranks every match (about half a second of PostgreSQL) while the "
        "others wait for it, so a measured run may hold one such pause.",
        "",
        f"Data: a fresh PostgreSQL database of {options.videos:,} videos (90% public and "
        f"completed) seeded by COPY, each titled with {TITLE_WORDS} and described with "
        f"{DESCRIPTION_WORDS} words drawn from {len(VOCABULARY)}, so any word is in about "
        f"7.6% of them: q={library.word} matches {library.matches:,} public videos. The "
        f"deep page is {deep} ({20} a page), reached with the cursor its previous page ends "
        "with, computed from the table in each order (relevance: the same `ts_rank_cd` "
        "score) and checked against the cursor itube's Link headers lead to. Page 1 newest "
        "first is asked with `created_before=2100-01-01T00:00:00Z`: the default first page "
        "is served from the cache (the load table's page 1 row), any other listing from "
        "the database, as here.",
        "",
        "Writes, each a walk over ids no request used before "
        f"({library.fresh_per_run:,} a run): metadata creation registers an upload put in "
        "moto beforehand under the signed-in owner's prefix (itube checks it with "
        "HeadObject: moto answers each on a new connection, so boto3 connects each time, "
        "and moto's own time adds to the latency, not to the server's CPU); an edit sets a "
        "new title on one of the owner's unlisted videos (seeded by COPY) with `If-Match: "
        '"1"`, so each is a real write and a repeat would be a 412; a delete removes '
        "another of them (204). Quotas are off. The deletion worker runs in the server, "
        "polling every second: it purges during the delete run (its work is part of the "
        f"delete figures), then gets {DRAIN_SECONDS:g} s after the run, its CPU per purged "
        "job measured below, and the jobs left are closed in the table (those videos had "
        "no objects in S3), so the purge does not land on the next target. "
        + walk_note(library),
        "",
        "## Ratios",
        "",
        *table(run),
        "",
        f"![Each row's ratio beside its target]({run.chart})",
        "",
        "## Every target",
        "",
        *targets_table(run),
        "",
        "## The deletion worker after each delete run",
        "",
        *drain_table(library.drains),
        "",
        "## Memory",
        "",
        "Resident memory of the server, read after the last round.",
        "",
        *memory_table(run),
        "",
        "## Machine and conditions",
        "",
        machine + ".",
        "",
        f"Load average (1, 5, 15 min) before the run: {run.load_before}; after: "
        f"{run.load_after} (the run keeps about 2 busy: the server and wrk). Read the "
        "ratios, measured side by side, and their spread per round.",
        "",
    ]
    return "\n".join(parts)
