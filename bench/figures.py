"""From the rounds' wrk runs to the table's figures: medians over rounds, and each row's
ratio as the median of its same-round ratios. A figure with any non-2xx answer, socket
error or timeout in any round does not count: it is shown failed, with the count."""

from __future__ import annotations

import statistics

import attrs

from bench.scenarios import Row
from bench.wrk import Load


@attrs.frozen
class Figure:
    """One target over every round."""

    name: str
    per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    timeouts: int

    @property
    def failures(self) -> int:
        return self.non_2xx + self.socket_errors + self.timeouts

    @property
    def counts(self) -> bool:
        return self.failures == 0 and self.requests > 0

    def failure_text(self) -> str:
        """What went wrong, e.g. "3 non-2xx, 35 timeouts"; "" when nothing did."""
        kinds = {"non-2xx": self.non_2xx, "socket errors": self.socket_errors,
                 "timeouts": self.timeouts}
        return ", ".join(f"{count} {kind}" for kind, count in kinds.items() if count)


@attrs.frozen
class RowResult:
    row: Row
    itube: Figure
    baseline: Figure
    ratio: float | None  # None: a failed figure, no ratio
    round_ratios: list[float]

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
        requests=sum(load.requests for load in loads),
        non_2xx=sum(load.non_2xx for load in loads),
        socket_errors=sum(load.socket_errors for load in loads),
        timeouts=sum(load.timeouts for load in loads),
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
                     round_ratios=ratios)
