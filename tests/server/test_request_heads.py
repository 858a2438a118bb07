"""Request heads are bounded (`[server] max_header_bytes`, `max_headers`): 431
problem+json, and an oversized head never stalls the other requests."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.request

import orjson
import pytest

LIMITS = "max_header_bytes = 8192\nmax_headers = 20"


def exchange(port: int, request: bytes, timeout: float = 30) -> bytes:
    """Send the whole request, then read the whole answer (a plain, sequential client)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        # A server that stopped reading has its answer waiting already.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(request)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def request(path: str = "/healthz", headers: tuple[str, ...] = (), body: bytes = b"",
            method: str = "GET", close: bool = True) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *headers]
    if close:
        lines.append("Connection: close")
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def padded_to(size: int, close: bool = True) -> bytes:
    """A GET whose head (request line, headers, blank line) is exactly `size` bytes."""
    base = len(request(headers=("X-Pad: ",), close=close))
    padded = request(headers=("X-Pad: " + "p" * (size - base),), close=close)
    assert len(padded) == size
    return padded


def assert_431(answer: bytes, detail: str) -> None:
    status, headers, body = split(answer)
    assert status == 431, answer[:300]
    assert headers["content-type"] == "application/problem+json"
    assert headers["connection"] == "close"
    problem = orjson.loads(body)
    assert problem["status"] == 431
    assert problem["title"] == "Request Header Fields Too Large"
    assert problem["detail"] == detail
    assert problem["request_id"] == headers["x-request-id"]


def test_a_64_mib_header_gets_431_quickly_while_other_requests_are_served(serve):
    served = serve()  # the default limits, as `make serve` and the container run them
    served.wait_ready()
    answers: list[bytes] = []
    huge = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " + b"a" * (64 << 20) + b"\r\n\r\n"
    sender = threading.Thread(target=lambda: answers.append(exchange(served.port, huge)))
    started = time.monotonic()
    sender.start()
    latencies = []
    while sender.is_alive() or not latencies:
        before = time.monotonic()
        with urllib.request.urlopen(served.url("/healthz"), timeout=30) as answer:
            assert answer.status == 200
        latencies.append(time.monotonic() - before)
        time.sleep(0.02)
    sender.join()
    assert_431(answers[0], "The request head exceeds 32768 bytes")
    assert time.monotonic() - started < 10
    assert max(latencies) < 2.0, latencies


@pytest.mark.parametrize("over", [0, 1])
def test_the_limit_counts_the_whole_head_to_the_byte(serve, over):
    served = serve(server=LIMITS)
    served.wait_ready()
    answer = exchange(served.port, padded_to(8192 + over))
    if over:
        assert_431(answer, "The request head exceeds 8192 bytes")
    else:
        assert split(answer)[0] == 200


@pytest.mark.parametrize("count", [20, 21])
def test_more_header_fields_than_max_headers_get_431(serve, count):
    served = serve(server=LIMITS)
    served.wait_ready()
    headers = tuple(f"X-Field-{n}: {n}" for n in range(count - 2))  # + Host, Connection
    answer = exchange(served.port, request(headers=headers))
    if count > 20:
        assert_431(answer, "The request has more than 20 header fields")
    else:
        assert split(answer)[0] == 200


def test_each_request_on_a_connection_has_its_own_budget_and_bodies_do_not_count(serve):
    served = serve(server=LIMITS)
    served.wait_ready()
    body = b"b" * 50_000  # far more than the head limit
    pipelined = (
        padded_to(6000, close=False)
        + request("/test/body", method="POST", body=body, close=False)
        + padded_to(6000, close=False)
        + padded_to(6000)
    )
    answer = exchange(served.port, pipelined)
    assert answer.count(b"HTTP/1.1 200 OK") == 4, answer
    assert b'{"received":50000}' in answer


def test_a_refused_head_is_logged_and_never_reaches_the_app(serve):
    served = serve(server=LIMITS)
    served.wait_ready()
    assert_431(exchange(served.port, padded_to(9000)), "The request head exceeds 8192 bytes")
    served.stop()
    lines = served.log_lines()
    refused = [line for line in lines if line.get("msg") == "request head refused"]
    assert refused[0]["reason"] == "The request head exceeds 8192 bytes"
    assert refused[0]["level"] == "INFO"
    routes = {line["route"] for line in lines if line.get("logger") == "itube.access"}
    assert routes == {"/healthz"}  # wait_ready's, never the refused one
