"""A real webhook receiver: an HTTP server in a thread that verifies every request with
the Standard Webhooks library and records it."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs
from standardwebhooks import Webhook, WebhookVerificationError

SECRET = "whsec_" + base64.b64encode(b"the receiver's 32-byte secret!!!").decode()


@attrs.define
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # The payload the library verified and parsed, or None when verification failed.
    verified: Any
    error: str | None = None


@attrs.define
class Receiver:
    """Answers each request with the next of `answers` (status, headers), then `default`."""

    secret: str = SECRET
    answers: list[tuple[int, dict[str, str]]] = attrs.Factory(list)
    default: int = 200
    requests: list[Received] = attrs.Factory(list)
    port: int = 0
    lock: threading.Lock = attrs.Factory(threading.Lock)
    # TCP connections accepted: a sender that keeps its connections alive opens few.
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def url_for(self, host: str) -> str:
        return f"http://{host}:{self.port}/hook"

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.answers.pop(0) if self.answers else (self.default, {})

    def record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        try:
            verified, error = Webhook(self.secret).verify(body, headers), None
        except WebhookVerificationError as exc:
            verified, error = None, str(exc)
        with self.lock:
            self.requests.append(Received(path, headers, body, verified, error))

    @property
    def ids(self) -> list[str]:
        return [request.headers["webhook-id"] for request in self.requests]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver offers

        def setup(self) -> None:
            super().setup()
            with receiver.lock:
                receiver.connections += 1

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.record(self.path, headers, body)
            status, extra = receiver.answer()
            text = json.dumps({"status": status}).encode()
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(receiver: Receiver | None = None) -> Iterator[Receiver]:
    receiver = receiver or Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
