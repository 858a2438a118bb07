"""The CPU one process spends answering `POST …/upload-url` beside starting a multipart
upload with 100 part URLs, measured in-process: a quick stand-in for the first table of
docs/benchmarks-uploads.md when the machine is not quiet enough for `make bench`.

    .venv/bin/python -m bench.bench_multipart_start [ROUNDS] [REQUESTS]

The app (video plugin, stand-in auth, a PostgreSQL database of its own) is driven through
its ASGI interface on its own event loop, no HTTP client in between; moto's server runs in
a process of its own, so only the app's CPU (the loop and its worker threads) is counted
by `time.process_time`. Each round measures both kinds, alternating which goes first, and
prints the median of the rounds' ratios.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from bench.bench_uploads import PART_URLS, moto_process
from core.app import create_app
from tests.faults.support import app_config
from tests.support import services

VIDEOS = "/api/v1/upload/videos"
MIB = 1024 * 1024
USER = [(b"x-test-user", b"bench-user"), (b"content-type", b"application/json")]


def asgi_post(app: Any, state: dict[str, Any], path: str,
              body: dict[str, Any]) -> Callable[[], Awaitable[int]]:
    """A POST of `body` straight into the app (`state`: its lifespan's); the status it
    answered."""
    payload = json.dumps(body).encode()

    async def call() -> int:
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
                 "query_string": b"", "root_path": "", "headers": USER,
                 "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
                 "state": dict(state)}
        await app(scope, receive, send)
        return status

    return call


async def cpu_per_answer(call: Callable[[], Awaitable[int]], requests: int,
                         expected: int) -> float:
    """The process's CPU per answer, in µs, over `requests` answers one after another."""
    started = time.process_time()
    for _ in range(requests):
        status = await call()
        if status != expected:
            raise RuntimeError(f"answered {status}, expected {expected}")
    return (time.process_time() - started) / requests * 1e6


async def rounds(app: Any, state: dict[str, Any], count: int,
                 requests: int) -> list[tuple[float, float]]:
    upload_url = asgi_post(app, state, f"{VIDEOS}/upload-url", {"content_type": "video/mp4"})
    multipart = asgi_post(app, state, f"{VIDEOS}/multipart",
                          {"content_type": "video/mp4", "size_bytes": PART_URLS * 8 * MIB})
    await cpu_per_answer(upload_url, 20, 200)  # warm: connections, statement caches
    await cpu_per_answer(multipart, 20, 201)
    pairs = []
    for number in range(count):
        if number % 2:
            multi = await cpu_per_answer(multipart, requests, 201)
            single = await cpu_per_answer(upload_url, requests, 200)
        else:
            single = await cpu_per_answer(upload_url, requests, 200)
            multi = await cpu_per_answer(multipart, requests, 201)
        print(f"round {number + 1}: upload-url {single:,.0f} µs, multipart {multi:,.0f} µs, "
              f"ratio {multi / single:.2f}", flush=True)
        pairs.append((single, multi))
    return pairs


def main(args: list[str]) -> None:
    count = int(args[0]) if args else 4
    requests = int(args[1]) if len(args) > 1 else 300
    database = services.create_postgres_database()
    try:
        with moto_process(Path(tempfile.mkdtemp(prefix="itube-bench-mp-"))) as moto:
            config = app_config(database, moto, ["video"])
            with TestClient(create_app(config)) as client:
                assert client.portal is not None
                pairs = client.portal.call(rounds, client.app, client.app_state, count,
                                            requests)
    finally:
        services.drop_postgres_database(database)
    ratio = statistics.median(multi / single for single, multi in pairs)
    print(f"median ratio of server CPU per answer: {ratio:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
