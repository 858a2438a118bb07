"""Log lines are written by a thread of their own: none is lost, each keeps its request."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import orjson

from core.log import timestamp

REPO = Path(__file__).resolve().parents[2]

CONCURRENT_REQUESTS = """
import asyncio
from starlette.responses import Response
from core.log import configure_logging
from core.middleware import RequestContextMiddleware

async def endpoint(scope, receive, send):
    await asyncio.sleep(0)
    await Response(b"{}", media_type="application/json")(scope, receive, send)

app = RequestContextMiddleware(endpoint)

async def request(number):
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [
        (b"x-request-id", f"req-{number}".encode())], "state": {}}
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}
    async def send(message):
        pass
    await app(scope, receive, send)

async def main():
    await asyncio.gather(*(request(number) for number in range(COUNT)))

configure_logging("INFO")
asyncio.run(main())
"""

FROM_THREADS = """
import logging, threading
from core.log import configure_logging, request_id_var
configure_logging("INFO")
log = logging.getLogger("itube.test")

def write(thread):
    request_id_var.set(f"thread-{thread}")
    for number in range(100):
        log.info("line %s", number, extra={"writer": thread})

threads = [threading.Thread(target=write, args=(thread,)) for thread in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
try:
    raise ValueError("boom")
except ValueError:
    log.exception("failed")
"""


def run(script: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return [orjson.loads(line) for line in done.stderr.splitlines()]


def test_every_access_line_of_concurrent_requests_is_written_by_a_clean_exit():
    count = 2000
    lines = run(CONCURRENT_REQUESTS.replace("COUNT", str(count)))
    access = [line for line in lines if line["logger"] == "itube.access"]
    assert sorted(line["request_id"] for line in access) == sorted(
        f"req-{number}" for number in range(count))
    assert {(line["status"], line["route"]) for line in access} == {(200, "(unmatched)")}


def test_lines_keep_their_thread_request_and_message_and_tracebacks_survive():
    lines = run(FROM_THREADS)
    written = [line for line in lines if line["msg"].startswith("line ")]
    assert len(written) == 800
    for line in written:
        assert line["request_id"] == f"thread-{line['writer']}"
    per_thread = {}
    for line in written:
        per_thread.setdefault(line["writer"], []).append(line["msg"])
    assert all(msgs == [f"line {n}" for n in range(100)] for msgs in per_thread.values())
    failed = lines[-1]
    assert failed["msg"] == "failed" and "ValueError: boom" in failed["exc"]
    assert "request_id" not in failed or failed["request_id"] is None


ONE_LINE_BOTH_WAYS = """
import io, logging
import core.log
from core.log import (JsonFormatter, access_log, configure_logging, log_access,
                      request_id_var, stop_logging)
configure_logging("INFO")
made = []
plain_factory = logging.getLogRecordFactory()
def counting_factory(*args, **kwargs):
    made.append(args[0])
    return plain_factory(*args, **kwargs)
logging.setLogRecordFactory(counting_factory)
request_id_var.set("req-1")
line = ("GET", "/things", 200, 0.0015, "user-1")
log_access(*line)
stop_logging()  # the writer writes what is queued, and ends
assert made == [], made  # only our handler on the way: no record
captured = io.StringIO()
capture = logging.StreamHandler(captured)
capture.setFormatter(JsonFormatter())
access_log.addHandler(capture)
configure_logging("INFO")
with core.log._writer.draining:  # the writer cannot drain meanwhile
    log_access(*line)
    assert made == [], made  # the writer decides, off the request's path
stop_logging()
assert made == ["itube.access"], made  # another handler on the way: a record
access_log.removeHandler(capture)
access_log.addFilter(lambda record: False)
configure_logging("INFO")
log_access(*line)
stop_logging()  # a filter on the way: a record, which it drops
assert made == ["itube.access"] * 2, made
configure_logging("INFO")
logging.getLogger("captured").warning(captured.getvalue().strip())
"""


def test_an_access_line_without_a_record_is_the_line_a_record_makes():
    direct, through_record, captured = run(ONE_LINE_BOTH_WAYS)  # not the filtered one
    recorded = orjson.loads(captured["msg"])
    for line in (direct, through_record, recorded):
        assert line.pop("ts").endswith("Z")
    assert direct == through_record == recorded == {
        "level": "INFO", "logger": "itube.access", "msg": "request", "request_id": "req-1",
        "method": "GET", "route": "/things", "status": 200, "duration_ms": 1.5,
        "principal": "user-1",
    }


def test_a_timestamp_is_the_moment_in_utc_to_the_millisecond():
    moments = [0.0, 0.999, 1.0, 59.9995, 1_764_633_600.0005, 1_764_633_600.9999,
               *(1_764_633_600 + step / 997 for step in range(0, 5000, 7))]
    for moment in moments:
        exact = dt.datetime.fromtimestamp(moment, dt.UTC)
        expected = exact.strftime("%Y-%m-%dT%H:%M:%S.") + f"{exact.microsecond // 1000:03d}Z"
        assert timestamp(moment) == expected, moment
