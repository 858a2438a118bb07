"""From the rounds' wrk runs to the table's figures: medians over rounds, and each row's
ratio as the median of its same-round ratios. A figure with any non-2xx answer, socket
error or timeout in any round does not count: it is shown failed, with the count."""

from __future__ import annotations

import statistics

import attrs

from bench.scenarios import Row
from bench.wrk import Load


@attrs.frozen
class Figure(Load):
    """One target over every round: medians of the rates, latencies and CPU per answer,
    sums of the counts."""

    name: str = attrs.field(kw_only=True)


@attrs.frozen
class RowResult:
    row: Row
    itube: Figure
    baseline: Figure
    ratio: float | None  # None: a failed figure, no ratio
    round_ratios: list[float]
    # The baseline's server CPU per answer ÷ itube's, median of the rounds (rate rows).
    cpu_ratio: float | None = None

    @property
    def met(self) -> bool | None:
        return None if self.ratio is None else self.row.met(self.ratio)


def figure(name: str, rounds: list[dict[str, Load]]) -> Figure:
    loads = [round_[name] for round_ in rounds]
    return Figure(
        name=name,
        per_second=statistics.median(load.per_second for load in loads),
        p50_ms=statistics.median(load.p50_ms for load in loads),
        p99_ms=statistics.median(load.p99_ms for load in loads),
        max_ms=max(load.max_ms for load in loads),
        requests=sum(load.requests for load in loads),
        non_2xx=sum(load.non_2xx for load in loads),
        socket_errors=sum(load.socket_errors for load in loads),
        timeouts=sum(load.timeouts for load in loads),
        cpu_us=statistics.median(load.cpu_us for load in loads),
    )


def _round_ratio(row: Row, itube: Load, baseline: Load) -> float:
    if row.p99:
        return itube.p99_ms / baseline.p99_ms if baseline.p99_ms else float("inf")
    return itube.per_second / baseline.per_second if baseline.per_second else 0.0


def row_result(row: Row, rounds: list[dict[str, Load]]) -> RowResult:
    itube, baseline = figure(row.itube, rounds), figure(row.baseline, rounds)
    ratios = [_round_ratio(row, round_[row.itube], round_[row.baseline]) for round_ in rounds]
    counted = itube.counts and baseline.counts
    return RowResult(row=row, itube=itube, baseline=baseline,
                     ratio=statistics.median(ratios) if counted else None,
                     round_ratios=ratios, cpu_ratio=_cpu_ratio(row, rounds) if counted else None)


def _cpu_ratio(row: Row, rounds: list[dict[str, Load]]) -> float | None:
    pairs = [(round_[row.baseline].cpu_us, round_[row.itube].cpu_us) for round_ in rounds]
    if row.p99 or not all(itube for _, itube in pairs):
        return None
    return statistics.median(baseline / itube for baseline, itube in pairs)
