"""Interleaved rounds: every target driven by wrk once per round, in alternating order,
so a row's two figures always come from the same stretch of time.

Within a round the itube servers run one at a time (beside the baseline): each holds a
database pool, and the shared PostgreSQL has connections for a few pools only."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import httpx

from bench.processes import Server
from bench.scenarios import TARGETS, Target
from bench.servers import SIGV4_KEY_ID, SIGV4_REGION, SIGV4_SECRET
from bench.sigv4 import signed_headers
from bench.wrk import Load, method_script, walk_script, wrk

# Walks that need ids no earlier round asked for (the others share one slice every round).
FRESH_WALKS = sum(target.walk and not target.same_ids_each_round for target in TARGETS)


@attrs.frozen
class Options:
    videos: int
    small_videos: int
    rounds: int
    seconds: float
    warmup_seconds: float
    connections: int
    deep_page: int
    quick: bool


@attrs.define
class Stage:
    """What the targets need: where each server listens, the session cookies, the values
    of the path placeholders and the ids no request asked for yet."""

    options: Options
    folder: Path
    bases: dict[str, str]
    servers: dict[str, Server]
    cookies: dict[str, str]
    values: dict[str, str]
    fresh_ids: Iterator[list[str]] = attrs.field(repr=False)
    # The ids of the walks that ask for the same ones each round (Target.same_ids_each_round).
    round_ids: list[str] = attrs.field(repr=False, factory=list)
    walked: dict[str, list[tuple[int, int]]] = attrs.Factory(dict)  # requests, ids
    # Other walks' ids, by pool name (Target.pool): each run takes the next slice.
    pools: dict[str, Iterator[list[str]]] = attrs.field(repr=False, factory=dict)
    # Called after each target's run: waits for what the run left the server to do in the
    # background (so it does not land on the next target's figures).
    settle: Callable[[Target, Server], None] | None = None


def id_slices(ids: list[str], runs: int) -> Iterator[list[str]]:
    """`runs` disjoint slices of `ids`, as long as they can be."""
    size = max(len(ids) // runs, 1)
    return (ids[start:start + size] for start in itertools.cycle(range(0, size * runs, size)))


def drive(stage: Stage, target: Target) -> Load:
    """Warm up, then measure: a fresh wrk run each time (and fresh signatures)."""
    if target.walk:
        return _walk(stage, target)
    options = stage.options
    url = stage.bases[target.server] + target.path.format(**stage.values)
    headers = {**credentials(stage, target, url), **dict(target.headers)}
    script = method_script(stage.folder, target.method) if target.method != "GET" else None
    connections = target.connections or options.connections
    wrk(url, options.warmup_seconds, connections, script, headers)
    return with_cpu(stage.servers[target.server],
                    lambda: wrk(url, options.seconds, connections, script, headers))


def with_cpu(server: Server, run: Callable[[], Load]) -> Load:
    """`run()`'s load, with the server's CPU time per answer spent while it ran."""
    before = server.cpu_seconds()
    load = run()
    spent = server.cpu_seconds() - before
    return attrs.evolve(load, cpu_us=spent / load.requests * 1e6 if load.requests else 0.0)


def credentials(stage: Stage, target: Target, url: str) -> dict[str, str]:
    """The headers that authenticate `target`'s request to `url`: signed now, for SigV4."""
    if target.auth == "cookie":
        return {"Cookie": f"access_token={stage.cookies[target.server]}"}
    if target.auth == "sigv4":
        return signed_headers(url, SIGV4_KEY_ID, SIGV4_SECRET, SIGV4_REGION)
    return {}


def _walk(stage: Stage, target: Target) -> Load:
    """Warm up on some ids, measure on others: each requested once while they last."""
    options = stage.options
    if target.pool:
        ids = next(stage.pools[target.pool])
    else:
        ids = stage.round_ids if target.same_ids_each_round else next(stage.fresh_ids)
    share = options.warmup_seconds / (options.warmup_seconds + options.seconds)
    warm, measured = ids[:int(len(ids) * share)], ids[int(len(ids) * share):]
    base = stage.bases[target.server]
    headers = {**credentials(stage, target, base), **dict(target.headers)}
    connections = target.connections or options.connections
    wrk(base, options.warmup_seconds, connections,
        _walk_script(stage.folder, "warm", target, warm), headers)
    script = _walk_script(stage.folder, "measured", target, measured)
    load = with_cpu(stage.servers[target.server],
                    lambda: wrk(base, options.seconds, connections, script, headers))
    stage.walked.setdefault(target.name, []).append((load.requests, len(measured)))
    return load


def _walk_script(folder: Path, name: str, target: Target, ids: list[str]) -> Path:
    if target.path:
        paths = [target.path.replace("{id}", i) for i in ids]
    else:
        paths = [target.walk_prefix + i for i in ids]
    bodies = [target.body.replace("{id}", i) for i in ids] if target.body else None
    return walk_script(folder, name, paths, target.method, bodies)


Starter = Callable[[str], contextlib.AbstractContextManager[Server]]


@attrs.frozen
class Rounds:
    loads: list[dict[str, Load]]  # one dict per round
    rss_mib: dict[str, list[float]]  # per server, read after its targets in the last round


def run_rounds(stage: Stage, start: Starter, targets: list[Target] = TARGETS) -> Rounds:
    """Odd rounds go through the servers, and each server's targets, backwards.
    `start(server)` runs a server (its cookies set in the stage) until the block ends."""
    servers = list(dict.fromkeys(target.server for target in targets))
    result = Rounds(loads=[], rss_mib={})
    for number in range(stage.options.rounds):
        backwards = number % 2 == 1
        loads: dict[str, Load] = {}
        for name in servers[::-1] if backwards else servers:
            own = [target for target in targets if target.server == name]
            with start(name) as server:
                stage.bases[name], stage.servers[name] = server.base, server
                for target in own[::-1] if backwards else own:
                    check(stage, target)
                    loads[target.name] = drive(stage, target)
                    _show(number, target, loads[target.name])
                    if stage.settle is not None:
                        stage.settle(target, server)
                result.rss_mib[name] = server.rss_per_worker_mib()
        result.loads.append(loads)
    return result


def _show(number: int, target: Target, load: Load) -> None:
    failed = f", {load.failures} failed" if load.failures else ""
    print(f"  round {number + 1}: {target.name:42s} {load.per_second:8.0f} req/s, "
          f"p99 {load.p99_ms:7.1f} ms, {load.cpu_us:5.1f} µs CPU{failed}", flush=True)


def check(stage: Stage, target: Target) -> None:
    """One request before wrk: a broken setup fails here, with the answer. A walk over a
    pool is checked by whoever fills the pool: a request here would spend one of its ids."""
    if target.pool:
        return
    path = (target.walk_prefix + stage.values["video"] if target.walk
            else target.path.format(**stage.values))
    url = stage.bases[target.server] + path
    answer = httpx.request(target.method, url, headers=credentials(stage, target, url),
                           timeout=30)
    if not answer.is_success:
        raise RuntimeError(f"{target.name}: {target.method} {url} answered "
                           f"{answer.status_code}: {answer.text[:300]}")
