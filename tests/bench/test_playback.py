"""The pure parts of the playback benchmark: the seeded videos and their outputs, the
playlist and its rewrite, the targets' order and the figures' arithmetic."""

from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest

from bench.playback_data import (
    MEDIA_PLAYLIST,
    OUTPUT_COLUMNS,
    SEGMENTS,
    Owned,
    media_playlist,
    renditions_of,
    six_outputs,
    video_rows,
)
from bench.playback_report import PlaybackRun, markdown
from bench.playback_rewrite import ColdRewrite, cold_rewrite, s3_client, signed_segments
from bench.playback_scenarios import (
    PLAYLIST_BARE,
    PLAYLIST_PRIVATE,
    ROWS,
    TARGETS,
    Rounds,
    round_order,
)
from bench.wrk import Load
from plugins.video.models import OutputKind
from plugins.video.playback.manifest import Playlist, rewrite
from plugins.video.playback.outputs import check_outputs, stored_outputs
from plugins.video.states import Status

KEY = "videos/owner-1/6f1c1b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"


def test_six_outputs_pass_the_status_routes_checks() -> None:
    outputs = six_outputs(KEY)
    check_outputs(Status.COMPLETED, outputs, KEY)  # a 422 would raise
    kinds = [output.kind for output in outputs]
    assert len(outputs) == 6
    assert kinds.count(OutputKind.HLS) == 1 and kinds.count(OutputKind.POSTER) == 1


def test_rows_carry_the_outputs_as_stored_and_the_first_id_is_the_newest() -> None:
    rich = Owned.new("owner-1", 3, with_outputs=True)
    plain = Owned.new("owner-2", 2, with_outputs=False, visibility="PUBLIC")
    rich_rows, plain_rows = list(video_rows(rich)), list(video_rows(plain))
    assert all(len(row) == len(OUTPUT_COLUMNS) for row in rich_rows + plain_rows)
    column = {name: index for index, name in enumerate(OUTPUT_COLUMNS)}
    assert [row[column["id"]] for row in rich_rows] == rich.ids
    newest, older = (row[column["created_at"]] for row in rich_rows[:2])
    assert isinstance(newest, dt.datetime) and isinstance(older, dt.datetime)
    assert newest > older
    assert all(row[column["visibility"]] == "PRIVATE" for row in rich_rows)
    assert all(row[column["processing_status"]] == "COMPLETED" for row in rich_rows)
    assert len(stored_outputs(rich_rows[0][column["outputs"]])) == 6
    first = rich.ids[0]
    assert all(output.key.startswith(f"videos/owner-1/{first}/")
               for output in stored_outputs(rich_rows[0][column["outputs"]]))
    assert [row[column["outputs"]] for row in plain_rows] == [None, None]
    assert plain_rows[0][column["visibility"]] == "PUBLIC"


def test_the_playlist_rewritten_has_every_segment_signed() -> None:
    text = media_playlist()
    playlist = Playlist.under(KEY, MEDIA_PLAYLIST)
    body = rewrite(text, playlist, lambda key: f"https://s3/{key}?X-Amz-Signature=abc")
    assert text.count("#EXTINF:") == SEGMENTS and text.endswith("#EXT-X-ENDLIST\n")
    assert signed_segments(text) == 0
    assert signed_segments(body) == SEGMENTS
    assert f"https://s3/{KEY}/hls/v0/segment_00499.ts?" in body


def test_a_cold_rewrite_signs_every_segment_afresh() -> None:
    # Presigning needs no connection: the endpoint is never dialled.
    cold = cold_rewrite(s3_client("http://127.0.0.1:9"), "itube-processed-videos", 5, repeats=2)
    assert cold.urls == SEGMENTS
    assert cold.rewritten_bytes > cold.source_bytes and cold.cpu_ms > 0


def test_renditions_are_counted_in_a_video_answer() -> None:
    assert renditions_of(orjson.dumps({"renditions": [{}, {}]})) == 2


def test_odd_rounds_run_the_targets_in_reverse() -> None:
    assert round_order(0) == TARGETS
    assert round_order(1) == list(reversed(TARGETS))
    assert len({target.name for target in TARGETS}) == len(TARGETS)


def load(per_second: float, cpu_us: float, non_2xx: int = 0) -> Load:
    return Load(requests=1000, per_second=per_second, p50_ms=1, p99_ms=2, max_ms=3,
                non_2xx=non_2xx, socket_errors=0, timeouts=0, cpu_us=cpu_us)


def rounds_of(*pairs: tuple[Load, Load]) -> Rounds:
    """Rounds in which the private playlist and the bare one ran with these loads; every
    other target ran at 100 req/s, 100 µs."""
    return Rounds(loads=[{**{target.name: load(100, 100) for target in TARGETS},
                          PLAYLIST_PRIVATE.name: itube, PLAYLIST_BARE.name: bare}
                         for itube, bare in pairs])


PLAYLIST_ROW = next(row for row in ROWS if row.numerator == PLAYLIST_PRIVATE)


def test_a_ratio_is_the_median_of_same_round_ratios() -> None:
    rounds = rounds_of((load(400, 300), load(1000, 100)), (load(600, 200), load(1000, 100)),
                       (load(300, 500), load(500, 100)))
    assert rounds.per_round(PLAYLIST_ROW, "per_second") == [0.4, 0.6, 0.6]
    assert rounds.ratio(PLAYLIST_ROW, "per_second") == pytest.approx(0.6)
    assert rounds.ratio(PLAYLIST_ROW, "cpu_us") == pytest.approx(3.0)


def test_a_run_with_a_non_2xx_answer_leaves_its_rows_without_a_figure() -> None:
    rounds = rounds_of((load(400, 300, non_2xx=1), load(1000, 100)))
    assert rounds.ratio(PLAYLIST_ROW, "per_second") is None


def test_costs_must_stay_under_their_bound_and_rates_above_it() -> None:
    cost = ROWS[0]
    assert cost.measure == "cpu_us" and cost.met(1.5) and not cost.met(1.51)
    assert PLAYLIST_ROW.measure == "per_second"
    assert PLAYLIST_ROW.met(0.5) and not PLAYLIST_ROW.met(0.49)


def run_of(rounds: Rounds) -> PlaybackRun:
    return PlaybackRun(
        rounds=rounds, cold=ColdRewrite(cpu_ms=7.5, wall_ms=8.0, urls=SEGMENTS,
                                        source_bytes=16_000, rewritten_bytes=196_000),
        rounds_count=len(rounds.loads), seconds=8, warmup_seconds=1, connections=32,
        window_seconds=5, quick=False, code="commit abc", started="2026-12-02 10:00 UTC",
        minutes=5.0, machine={"cores": "2"}, load_before="0.1 0.1 0.1",
        load_after="2.0 1.0 0.5")


def test_the_report_names_each_rows_verdict_and_the_cold_rewrite() -> None:
    text = markdown(run_of(rounds_of((load(400, 300), load(1000, 100)))))
    playlist_line = next(line for line in text.splitlines() if line.startswith(
        f"| {PLAYLIST_ROW.label} |"))
    assert "| 3.00× | 0.40× | ≥ 0.5× | not met | 0.40 |" in playlist_line
    assert "**7.5 ms** of CPU" in text
    assert "spans at least 1 window change" in text


def test_the_report_shows_a_failed_figure_as_failed() -> None:
    text = markdown(run_of(rounds_of((load(400, 300, non_2xx=3), load(1000, 100)))))
    playlist_line = next(line for line in text.splitlines() if line.startswith(
        f"| {PLAYLIST_ROW.label} |"))
    assert "| failed | failed |" in playlist_line and "no figure" in playlist_line
    assert f"| {PLAYLIST_PRIVATE.name} | 400 | 300 | 2.0 ms | 3 |" in text


def test_the_ids_asked_for_fill_the_targets_paths() -> None:
    video = str(uuid.uuid4())
    assert PLAYLIST_PRIVATE.url_path({"rich": video}) == (
        f"/api/v1/upload/videos/{video}/playback/{MEDIA_PLAYLIST}")
