"""Start-up and stop of a real `itube serve`: busy ports end start-up at once naming them,
SIGINT and SIGTERM always stop the process (during start-up too), a graceful shutdown
has a bound (`[server] graceful_shutdown_seconds`), and a client leaving mid-body is an
info line."""

from __future__ import annotations

import signal
import socket
import threading
import time

import orjson
import pytest

from core.errors import ConfigError
from plugins.local_aws.config import LocalAwsSettings
from plugins.local_aws.service import start_emulator

SLOW_START = '[plugins.server_stand_in]\nstartup_seconds = 60\nstartup_style = "{style}"\n'


def errors_in(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line.get("level") in {"ERROR", "CRITICAL"}]


def test_a_busy_emulator_port_ends_start_up_at_once_naming_it(serve, busy_port):
    served = serve(f"[plugins.local_aws]\nport = {busy_port}\n", plugins=["local_aws"])
    assert served.wait_exit(timeout=30) == 3
    failed = [line for line in served.log_lines() if line.get("msg", "").startswith("start-up")]
    assert failed[0]["msg"] == (
        f"start-up failed: plugins.local_aws: cannot listen on 127.0.0.1:{busy_port} for the "
        "AWS emulator (address already in use): stop what uses the port, or set "
        "[plugins.local_aws] port to another one (0 picks a free port)"
    )
    assert "Traceback" not in served.log_text()


def test_the_emulator_refuses_a_busy_port_instead_of_waiting(busy_port):
    outcome: list[BaseException] = []

    def start() -> None:
        try:
            start_emulator(LocalAwsSettings(port=busy_port))
        except BaseException as exc:
            outcome.append(exc)

    starting = threading.Thread(target=start, daemon=True)  # a hang must not hang the run
    starting.start()
    starting.join(timeout=20)
    assert not starting.is_alive(), "start_emulator is still waiting"
    assert isinstance(outcome[0], ConfigError)
    assert f"cannot listen on 127.0.0.1:{busy_port}" in str(outcome[0])


def test_a_busy_api_port_exits_at_once_naming_it(serve, busy_port):
    # A start-up of a minute: the port is refused before any of it runs.
    served = serve(SLOW_START.format(style="await"), port=busy_port)
    started = time.monotonic()
    assert served.wait_exit(timeout=30) == 3
    assert time.monotonic() - started < 30
    log = served.log_text()
    assert f"itube: cannot listen on 127.0.0.1:{busy_port}: address already in use" in log
    assert "stand-in start-up begins" not in log


def test_an_unexpected_start_up_failure_is_logged_with_its_traceback(serve):
    served = serve('[plugins.server_stand_in]\nstartup_seconds = 1\nstartup_style = "fail"\n')
    assert served.wait_exit(timeout=30) == 3
    failed = [line for line in served.log_lines() if line.get("msg") == "start-up failed"]
    assert failed[0]["level"] == "ERROR"
    assert failed[0]["exc"].endswith("RuntimeError: the stand-in could not start")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize(("style", "status"), [("await", 0), ("thread", 1)])
def test_a_signal_during_start_up_stops_the_process(serve, sig, style, status):
    """Awaited start-up work is cancelled and unwinds (status 0); work blocking a thread
    cannot be cancelled, so the process ends once the clean-up bound has passed (1)."""
    served = serve(SLOW_START.format(style=style))
    served.wait_for_log("stand-in start-up begins")
    code, took = served.stop(sig, timeout=20)
    assert (code, took < 15) == (status, True), served.log_text()
    interrupted = [line for line in served.log_lines() if line.get("msg") == "start-up interrupted"]
    assert interrupted[0]["signal"] == sig.name
    assert "Application startup complete" not in served.log_text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_a_serving_process_stops_on_a_signal_with_status_0(serve, sig):
    served = serve()
    served.wait_ready()
    code, took = served.stop(sig)
    assert (code, took < 15) == (0, True), served.log_text()
    assert errors_in(served.log_lines()) == []


def half_a_body(port: int) -> socket.socket:
    """A POST whose headers and first half of the body have arrived; the rest has not."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(b"POST /test/body HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n"
                       b"\r\n" + b"a" * 500)
    return connection


def read_all(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):  # the server closes once it has answered
        received += chunk
    return received


def test_a_stalled_client_keeps_the_process_no_longer_than_the_grace_period(serve):
    served = serve(server="graceful_shutdown_seconds = 2")
    served.wait_ready()
    with half_a_body(served.port) as connection:
        served.wait_for_log("stand-in reads the body")  # waiting for the rest of it
        code, took = served.stop(signal.SIGTERM)
        answer = read_all(connection)
    assert code == 0, served.log_text()
    assert 1.5 < took < 12, took  # waited for the request, then gave up on it
    # What the cut-off request gets: a 503 it may retry elsewhere, not a bare 500.
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503 ")
    assert b"content-type: application/problem+json" in head
    assert b"retry-after: 1" in head
    assert orjson.loads(body)["detail"] == "The server is shutting down; retry the request"
    access = [line for line in served.log_lines() if line.get("route") == "/test/body"]
    assert [line["status"] for line in access] == [503]


def test_a_request_finishing_within_the_grace_period_is_answered(serve):
    served = serve(server="graceful_shutdown_seconds = 10")
    served.wait_ready()
    with half_a_body(served.port) as connection:
        served.wait_for_log("stand-in reads the body")
        started = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        served.wait_for_log("Shutting down")
        connection.sendall(b"b" * 500)
        answer = read_all(connection)
        assert answer.startswith(b"HTTP/1.1 200 OK"), answer
        assert answer.endswith(b'{"received":1000}')
    assert served.wait_exit(timeout=15) == 0
    assert time.monotonic() - started < 10  # it did not wait out the whole grace period


def test_a_client_leaving_mid_body_is_an_info_line_not_an_error(serve):
    served = serve()
    served.wait_ready()
    with half_a_body(served.port):
        served.wait_for_log("stand-in reads the body")
    served.wait_for_log("client disconnected")
    served.stop()
    lines = served.log_lines()
    assert errors_in(lines) == []
    left = [line for line in lines if line.get("msg", "").startswith("client disconnected")]
    assert left[0]["level"] == "INFO"
    assert left[0]["route"] == "/test/body"
    access = [line for line in lines
              if line.get("logger") == "itube.access" and line.get("route") == "/test/body"]
    assert [line["status"] for line in access] == [499]


def test_worker_processes_bound_heads_and_stop_on_a_signal(serve):
    """`workers > 1` (the production config's choice) runs the same protocol and stop in
    every worker."""
    from tests.server.test_request_heads import exchange, padded_to, split

    served = serve(server="workers = 2\nmax_header_bytes = 8192")
    served.wait_ready()
    assert [split(exchange(served.port, padded_to(size)))[0] for size in (8192, 8193)] == [
        200, 431
    ]
    code, took = served.stop(signal.SIGTERM)
    assert (code, took < 15) == (0, True), served.log_text()

    starting = serve(SLOW_START.format(style="await"), server="workers = 2")
    starting.wait_for_log("stand-in start-up begins")
    code, took = starting.stop(signal.SIGTERM)
    assert (code, took < 15) == (0, True), starting.log_text()
    assert errors_in(starting.log_lines()) == []
