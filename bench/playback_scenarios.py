"""What the playback benchmark drives and divides: its wrk targets, and the rows comparing
two targets' figures from the same rounds."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Literal

import attrs

from bench.events_walk import median_ratio
from bench.playback_data import MEDIA_PLAYLIST
from bench.scenarios import VIDEOS
from bench.wrk import Load

ITUBE, BASELINE = "itube", "baseline"
# Who asks: the owner of the videos with six outputs, of those without, or nobody.
Caller = Literal["rich", "plain", "anonymous"]
Measure = Literal["cpu_us", "per_second"]
Figure = Literal["cpu_us", "per_second", "p99_ms"]


@attrs.frozen
class Target:
    name: str
    server: str
    path: str  # placeholders: {rich} and {plain} (the ids asked for), {public}
    caller: Caller = "anonymous"

    def url_path(self, ids: dict[str, str]) -> str:
        return self.path.format(**ids)


GET_RICH = Target("get-by-id, 6 renditions", ITUBE, f"{VIDEOS}/{{rich}}", "rich")
GET_PLAIN = Target("get-by-id, no outputs", ITUBE, f"{VIDEOS}/{{plain}}", "plain")
MINE_RICH = Target("/mine (20), 6 renditions each", ITUBE, f"{VIDEOS}/mine?limit=20", "rich")
MINE_PLAIN = Target("/mine (20), no outputs", ITUBE, f"{VIDEOS}/mine?limit=20", "plain")
PLAYLIST_PRIVATE = Target("500-segment playlist, private video, owner", ITUBE,
                          f"{VIDEOS}/{{rich}}/playback/{MEDIA_PLAYLIST}", "rich")
PLAYLIST_PUBLIC = Target("500-segment playlist, public video, anonymous", ITUBE,
                         f"{VIDEOS}/{{public}}/playback/{MEDIA_PLAYLIST}")
PLAYLIST_BARE = Target("bare: the playlist from Redis", BASELINE, "/playlist")
TARGETS = [GET_RICH, GET_PLAIN, MINE_RICH, MINE_PLAIN, PLAYLIST_PRIVATE, PLAYLIST_PUBLIC,
           PLAYLIST_BARE]


@attrs.frozen
class Row:
    """`numerator`'s figure ÷ `denominator`'s; the target bounds `measure`'s ratio."""

    label: str
    numerator: Target
    denominator: Target
    measure: Measure
    target: float

    def met(self, ratio: float) -> bool:
        # A cost must stay under its bound, a rate above it.
        return ratio <= self.target if self.measure == "cpu_us" else ratio >= self.target

    @property
    def target_text(self) -> str:
        return f"≤ {self.target:g}×" if self.measure == "cpu_us" else f"≥ {self.target:g}×"


ROWS = [
    Row("get-by-id of a private video by its owner: 6 renditions ÷ none", GET_RICH, GET_PLAIN,
        "cpu_us", 1.5),
    Row("/mine, 20 private videos: 6 renditions each ÷ none", MINE_RICH, MINE_PLAIN,
        "cpu_us", 1.5),
    Row("500-segment playlist rewritten (private, owner) ÷ the same from Redis, unsigned",
        PLAYLIST_PRIVATE, PLAYLIST_BARE, "per_second", 0.5),
    Row("500-segment playlist rewritten (public, anonymous) ÷ the same from Redis, unsigned",
        PLAYLIST_PUBLIC, PLAYLIST_BARE, "per_second", 0.5),
]


def round_order(number: int, targets: Sequence[Target] = TARGETS) -> list[Target]:
    """The targets of round `number` (from 0): odd rounds in reverse order."""
    return list(targets) if number % 2 == 0 else list(reversed(targets))


@attrs.frozen
class Rounds:
    """Every round's loads, by target name."""

    loads: list[dict[str, Load]]

    def of(self, target: Target) -> list[Load]:
        return [round_[target.name] for round_ in self.loads]

    def failures(self, target: Target) -> int:
        return sum(load.failures for load in self.of(target))

    def median(self, target: Target, figure: Figure) -> float:
        return statistics.median(getattr(load, figure) for load in self.of(target))

    def per_round(self, row: Row, measure: Measure) -> list[float]:
        """Same-round ratios of `measure`, numerator ÷ denominator."""
        return [getattr(n, measure) / getattr(d, measure)
                for n, d in zip(self.of(row.numerator), self.of(row.denominator), strict=True)
                if getattr(d, measure)]

    def ratio(self, row: Row, measure: Measure) -> float | None:
        """The median of same-round ratios; None when a run of either side did not count
        (a non-2xx answer, a socket error or a timeout)."""
        if self.failures(row.numerator) or self.failures(row.denominator):
            return None
        return median_ratio([getattr(load, measure) for load in self.of(row.numerator)],
                            [getattr(load, measure) for load in self.of(row.denominator)])
