"""The chart of docs/benchmarks.md: each row's ratio beside its target."""

from __future__ import annotations

import textwrap
from pathlib import Path

from bench.figures import RowResult

MET, MISSED, NO_TARGET = "#2a9d8f", "#e76f51", "#8d99ae"


def _colour(result: RowResult) -> str:
    if result.met is None:
        return NO_TARGET
    return MET if result.met else MISSED


def draw(results: list[RowResult], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [textwrap.fill(result.row.label, 60) for result in results]
    ratios = [result.ratio or 0.0 for result in results]
    positions = range(len(results))
    figure, axes = plt.subplots(figsize=(11, 0.62 * len(results) + 1.6))
    axes.barh(positions, ratios, color=[_colour(result) for result in results])
    for position, result in zip(positions, results, strict=True):
        if result.row.target is not None:
            axes.plot([result.row.target] * 2, [position - 0.42, position + 0.42],
                      color="black", linewidth=2)
        text = "failed" if result.ratio is None else f"{result.ratio:.2f}×"
        axes.text((result.ratio or 0.0) + 0.02, position, text, va="center", fontsize=8)
    axes.set_yticks(list(positions), labels, fontsize=7)
    axes.invert_yaxis()
    axes.set_xlabel("ratio (black mark: the target; p99 rows: at most, others: at least)")
    axes.set_title(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
