"""The pure parts of bench/: reading wrk's output, the profile summary, callgrind's counts,
and the baseline's lean SigV4 check against requests botocore signed."""

from __future__ import annotations

import pytest

from bench.figures import figure, row_result
from bench.instructions import counted_by_thread, request_paths
from bench.profile import top_functions
from bench.scenarios import Row
from bench.sigv4 import signed_headers, verify
from bench.wrk import Load, parse_wrk

WRK_OUTPUT = """Running 8s test @ http://127.0.0.1:40000/fixed
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.10ms    1.20ms   1.02s    90.00%
    Req/Sec     7.80k   300.00     8.40k    70.00%
  Latency Distribution
     50%    3.90ms
     75%    4.50ms
     90%    5.20ms
     99%  850.00us
  124800 requests in 8.00s, 60.00MB read
  Socket errors: connect 0, read 2, write 1, timeout 3
  Non-2xx or 3xx responses: 5
Requests/sec:  15600.00
Transfer/sec:      7.50MB
"""


def test_parse_wrk_reads_throughput_latency_and_failures():
    load = parse_wrk(WRK_OUTPUT)
    assert (load.requests, load.per_second) == (124800, 15600.0)
    assert (load.p50_ms, load.p99_ms, load.max_ms) == (3.9, 0.85, 1020.0)
    assert (load.non_2xx, load.socket_errors, load.timeouts) == (5, 3, 3)
    assert load.failures == 11 and not load.counts


def test_parse_wrk_without_errors_counts():
    clean = "\n".join(line for line in WRK_OUTPUT.splitlines()
                      if not line.lstrip().startswith(("Socket errors", "Non-2xx")))
    load = parse_wrk(clean)
    assert load.failures == 0 and load.counts


def test_parse_wrk_refuses_an_unknown_duration():
    with pytest.raises(ValueError, match="not a wrk duration"):
        parse_wrk(WRK_OUTPUT.replace("3.90ms", "3.90 lightyears"))


URL = "http://127.0.0.1:8000/api/v1/upload/videos/by-key/videos/user-1/a.mp4"
PATH = "/api/v1/upload/videos/by-key/videos/user-1/a.mp4"
SECRETS = {"AKIDBENCH": "secret"}


def received(headers: dict[str, str]) -> dict[str, str]:
    return {"host": "127.0.0.1:8000", **{name.lower(): value for name, value in headers.items()}}


def test_lean_check_accepts_what_botocore_signed():
    headers = received(signed_headers(URL, "AKIDBENCH", "secret", "us-east-1"))
    assert verify("GET", PATH, "", headers, SECRETS) == "AKIDBENCH"


@pytest.mark.parametrize("change", ["path", "host", "secret", "method"])
def test_lean_check_refuses_a_changed_request(change):
    secret = "other" if change == "secret" else "secret"
    headers = received(signed_headers(URL, "AKIDBENCH", secret, "us-east-1"))
    if change == "host":
        headers["host"] = "127.0.0.1:8001"
    path = PATH.replace("a.mp4", "b.mp4") if change == "path" else PATH
    method = "POST" if change == "method" else "GET"
    assert verify(method, path, "", headers, SECRETS) is None


def test_the_profile_summary_counts_own_and_total_samples_per_function():
    collapsed = "\n".join([
        "main (a.py:1);handle (b.py:2);verify (c.py:3) 6",
        "main (a.py:1);handle (b.py:2) 3",
        "main (a.py:1);handle (b.py:2);handle (b.py:2) 1",
        "a line py-spy never writes",
    ])
    assert top_functions(collapsed, 2) == [
        ("verify (c.py:3)", 60.0, 60.0),
        ("handle (b.py:2)", 40.0, 100.0),
    ]
    assert top_functions("", 5) == []


def test_a_figure_is_the_median_of_its_rounds_and_fails_with_any_failed_answer():
    def load(per_second: float, non_2xx: int = 0, timeouts: int = 0) -> Load:
        return Load(requests=10, per_second=per_second, p50_ms=1.0, p99_ms=per_second / 10,
                    max_ms=per_second, non_2xx=non_2xx, socket_errors=0, timeouts=timeouts)

    clean = figure("x", [{"x": load(100)}, {"x": load(300)}, {"x": load(200)}])
    assert (clean.per_second, clean.p99_ms, clean.max_ms, clean.requests) == (200, 20, 300, 30)
    assert clean.counts and clean.failure_text() == ""
    failed = figure("x", [{"x": load(100)}, {"x": load(100, non_2xx=1, timeouts=2)}])
    assert not failed.counts and failed.failure_text() == "1 non-2xx, 2 timeouts"


def test_a_row_compares_server_cpu_per_answer_round_by_round():
    def load(per_second: float, cpu_us: float) -> Load:
        return Load(requests=10, per_second=per_second, p50_ms=1.0, p99_ms=1.0, max_ms=1.0,
                    non_2xx=0, socket_errors=0, timeouts=0, cpu_us=cpu_us)

    rounds = [{"itube": load(80, 50.0), "bare": load(100, 40.0)},
              {"itube": load(60, 40.0), "bare": load(100, 36.0)},
              {"itube": load(90, 60.0), "bare": load(100, 30.0)}]
    result = row_result(Row("x", "itube", "bare", 0.8), rounds)
    assert result.itube.cpu_us == 50.0 and result.baseline.cpu_us == 36.0
    assert result.cpu_ratio == pytest.approx(0.8)  # the median of 0.8, 0.9 and 0.5
    assert row_result(Row("x", "itube", "bare", 3.0, p99=True), rounds).cpu_ratio is None


CALLGRIND_DUMP = """# callgrind format
version: 1
events: Ir
summary: {count}


totals: {count}
"""


def test_callgrind_counts_are_summed_per_thread_over_its_dumps(tmp_path):
    for name, count in (("callgrind.out-01", 0), ("callgrind.out.1-01", 250_000),
                        ("callgrind.out.1-02", 9_000), ("callgrind.out.2-01", 30),
                        ("other.out.1-01", 7)):
        (tmp_path / name).write_text(CALLGRIND_DUMP.format(count=count))
    assert counted_by_thread(tmp_path, "callgrind.out") == {1: 250_030, 2: 9_000}


def test_counted_requests_repeat_a_path_or_walk_the_ids_once_each():
    assert list(request_paths("/v/1", None, 3)) == ["/v/1"] * 3
    assert list(request_paths("/v/{id}", ["a", "b", "c"], 2)) == ["/v/a", "/v/b"]
    with pytest.raises(ValueError, match=r"4 ids \(the file has 3\)"):
        request_paths("/v/{id}", ["a", "b", "c"], 4)
    with pytest.raises(ValueError, match="needs {id}"):
        request_paths("/v/1", ["a"], 1)
