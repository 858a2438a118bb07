"""The pure parts of the events benchmark: the signed status-change walk, its script, the
seeded rows, and the figures' arithmetic."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from botocore.credentials import Credentials

from bench.bench_events import BEFORE, CURRENT, Options, StatusRun, video_rows
from bench.events_walk import (
    STATUS_BODY,
    median_ratio,
    per_thousand,
    signed_line,
    signed_walk_script,
    status_path,
)
from bench.seeding import COLUMNS
from bench.wrk import Load

BASE = "http://127.0.0.1:8000"
VIDEO = "6f1c1b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
CREDENTIALS = Credentials("AKIDBENCHTEST", "bench-secret")


def test_a_signed_line_holds_the_path_the_body_and_the_signed_headers() -> None:
    path, body, date, sha, authorization = signed_line(
        BASE, VIDEO, CREDENTIALS, "us-east-1").split("\t")
    assert path == f"/api/v1/upload/videos/{VIDEO}/status" == status_path(VIDEO)
    assert body == STATUS_BODY
    assert len(date) == 16 and date.endswith("Z")
    assert sha == hashlib.sha256(STATUS_BODY.encode()).hexdigest()
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDBENCHTEST/")
    assert "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date" in authorization


def test_each_video_gets_its_own_signature() -> None:
    first = signed_line(BASE, VIDEO, CREDENTIALS, "us-east-1").split("\t")[4]
    other = signed_line(BASE, str(uuid.uuid4()), CREDENTIALS, "us-east-1").split("\t")[4]
    assert first.rsplit("Signature=", 1)[1] != other.rsplit("Signature=", 1)[1]


def test_the_walk_script_reads_one_request_a_line(tmp_path) -> None:
    lines = [signed_line(BASE, str(uuid.uuid4()), CREDENTIALS, "us-east-1") for _ in range(3)]
    script = signed_walk_script(tmp_path, "walk", lines, threads=2)
    listing = tmp_path / "walk.lines"
    assert listing.read_text().splitlines() == lines
    text = script.read_text()
    assert str(listing) in text and "position + 2" in text and 'wrk.format("PATCH"' in text
    with pytest.raises(ValueError):
        signed_walk_script(tmp_path, "bad", ["a\nb"], threads=2)


def test_seeded_videos_are_in_progress_with_every_column() -> None:
    ids = [uuid.uuid4() for _ in range(3)]
    rows = list(video_rows("owner-1", ids))
    assert [row[0] for row in rows] == ids
    assert all(len(row) == len(COLUMNS) for row in rows)
    status = COLUMNS.index("processing_status")
    assert {row[status] for row in rows} == {"IN_PROGRESS"}
    created = COLUMNS.index("created_at")
    assert rows[0][created] < rows[1][created] < rows[2][created]


def test_ratios_are_medians_of_same_round_ratios() -> None:
    assert median_ratio([2.0, 3.0, 9.0], [1.0, 2.0, 3.0]) == 2.0
    assert median_ratio([1.0], [0.0]) is None
    assert median_ratio([], []) is None
    assert per_thousand(0.5, 500) == 1.0
    assert per_thousand(1.0, 0) == 0.0


def _load(rate: float, cpu: float, non_2xx: int = 0) -> Load:
    return Load(requests=1000, per_second=rate, p50_ms=1, p99_ms=2, max_ms=3,
                non_2xx=non_2xx, socket_errors=0, timeouts=0, cpu_us=cpu)


def test_a_failed_answer_in_any_round_leaves_no_ratio() -> None:
    good = StatusRun(loads=[{CURRENT: _load(900, 120), BEFORE: _load(1000, 100)},
                            {CURRENT: _load(800, 130), BEFORE: _load(1000, 100)}])
    cpu, rate = good.ratios()
    assert cpu == pytest.approx(1.25) and rate == pytest.approx(0.85)
    failed = StatusRun(loads=[{CURRENT: _load(900, 120, non_2xx=1), BEFORE: _load(1000, 100)}])
    assert failed.ratios() == (None, None)


def test_a_full_run_provisions_a_fresh_video_for_every_request() -> None:
    opts = Options(rounds=4, seconds=6, warmup_seconds=1, connections=32, write_rate=6000,
                   quick=False)
    assert opts.per_run == 42000


def test_the_report_names_each_figure_and_its_target() -> None:
    from bench.bench_events import Dispatch, EventsRun, Live, markdown

    opts = Options(rounds=1, seconds=2, warmup_seconds=1, connections=32, write_rate=4000,
                   quick=True)
    run = EventsRun(
        opts=opts,
        status=StatusRun(loads=[{CURRENT: _load(900, 1100), BEFORE: _load(1000, 1000)}]),
        dispatch=[Dispatch(events=1000, delivered=1000, posts=1000, connections=1,
                           cpu_seconds=0.8, wall_seconds=2.0)],
        live=Live(streams=1000, opened=1000, received=1000, rss_before_kib=100_000,
                  rss_open_kib=150_000, fan_out_seconds=0.4),
        code="commit abc", started="2026-12-02 14:00 UTC", minutes=0.5,
        load_before="1.0", load_after="1.0")
    text = markdown(run)
    assert "**1.10×** (target ≤ 1.3×: met)" in text
    assert "**0.90×**" in text
    assert "**0.80 s** (target: under 1 s: met)" in text
    assert "| 1,000 | 1,000 | 400 ms | 97.7 MiB | 146.5 MiB | 50.0 KiB |" in text
