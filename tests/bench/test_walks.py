"""The load benchmark's walks: which ids each asks for."""

from __future__ import annotations

import itertools

from bench.bench_load import SAME_IDS_SLICES, walk_ids
from bench.rounds import FRESH_WALKS


def test_every_walk_asks_for_ids_no_other_walk_asks_for():
    ids = [f"id{number}" for number in range(10_000)]
    same, fresh = walk_ids(ids, rounds=4)
    slices = list(itertools.islice(fresh, FRESH_WALKS * 4))
    size = len(ids) // (FRESH_WALKS * 4 + SAME_IDS_SLICES)
    assert len(same) == size * SAME_IDS_SLICES
    assert [len(ids_of_a_run) for ids_of_a_run in slices] == [size] * len(slices)
    asked = same + [id_ for ids_of_a_run in slices for id_ in ids_of_a_run]
    assert len(set(asked)) == len(asked)
