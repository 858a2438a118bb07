"""What the cache buys on get-by-id, and what a failing Redis costs.

1. The backends alone: a 1 KB `get` from the in-process cache, from Redis, and from a
   Redis that is down (breaker open, and breaker probing on every call), as ratios of
   the in-process cost.
2. GET /api/v1/upload/videos/{id} through the whole app (called as ASGI in-process,
   CONCURRENCY requests in flight) with no cache, the in-process cache and Redis, as
   ratios of a bare Starlette handler returning the same JSON, called the same way.

Uses the Redis at ITUBE_BENCH_REDIS (default redis://127.0.0.1:6379/0) under a throwaway
key prefix, a SQLite file in a temp dir (or ITUBE_BENCH_DATABASE_URL) and an in-process
moto server. About 25 seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import os
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
import redis.asyncio as aioredis
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from core.app import create_app
from core.cache import Cache, CacheUnavailable, MemoryCache
from core.config import config_from_dict
from core.plugins import hookimpl
from plugins.cache_redis.backend import RedisCache
from plugins.cache_redis.config import RedisCacheSettings

REDIS_URL = os.environ.get("ITUBE_BENCH_REDIS", "redis://127.0.0.1:6379/0")
CONCURRENCY = 16
APP_SECONDS = 2.0
CALLS = 5000
VALUE = b"x" * 1024


# -- 1. the backends alone ------------------------------------------------------------------


async def per_call_us(call: Callable[[], Awaitable[Any]], calls: int = CALLS) -> float:
    for _ in range(100):
        await call()
    started = time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.perf_counter() - started) / calls * 1e6


async def swallow(call: Callable[[], Awaitable[Any]]) -> None:
    with contextlib.suppress(CacheUnavailable):
        await call()


async def backend_costs(prefix: str) -> dict[str, float]:
    memory = MemoryCache()
    await memory.set("k", VALUE, 60)
    redis = RedisCache(RedisCacheSettings(url=REDIS_URL, key_prefix=prefix))
    await redis.open()
    await redis.set("k", VALUE, 60)
    # Nothing listens on port 1: connection refused at once.
    down = RedisCache(RedisCacheSettings(port=1, key_prefix=prefix, breaker_open_seconds=60))
    await down.open()
    probing = RedisCache(RedisCacheSettings(port=1, key_prefix=prefix,
                                            breaker_open_seconds=1e-9))
    await probing.open()
    try:
        return {
            "in-process get": await per_call_us(lambda: memory.get("k")),
            "redis get": await per_call_us(lambda: redis.get("k")),
            "redis incr": await per_call_us(lambda: redis.incr("counter", 60)),
            "redis down, breaker open": await per_call_us(lambda: swallow(lambda: down.get("k"))),
            "redis down, probing every call": await per_call_us(
                lambda: swallow(lambda: probing.get("k")), calls=500),
        }
    finally:
        await redis.delete("k", "counter")
        for backend in (memory, redis, down, probing):
            await backend.close()


# -- 2. get-by-id through the app -------------------------------------------------------------


class NoCache:
    """Every read misses: each request goes to the database."""

    name = "none"
    shared = False

    async def get(self, key: str) -> bytes | None:
        return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        return None

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        return True

    async def claim(self, keys: Sequence[str], ttl: float) -> list[bool]:
        return [True for _ in keys]

    async def delete(self, *keys: str) -> None:
        return None

    async def incr(self, key: str, ttl: float) -> int:
        return 1

    async def ttl(self, key: str) -> float | None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class NoCachePlugin:
    @hookimpl
    def cache_backend(self, ctx: Any) -> Cache:
        return NoCache()


Call = Callable[[str], Awaitable[int]]


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[Call]:
    """Run the app's lifespan and call it directly as a server would (no HTTP client in
    the measurement): the returned function sends a GET and answers its status."""
    with contextlib.redirect_stdout(io.StringIO()):  # migration progress lines
        lifespan = app.router.lifespan_context(app)
        state = await lifespan.__aenter__()

    async def get(path: str) -> int:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": b"", "root_path": "", "headers": [(b"host", b"bench")],
            "client": ("127.0.0.1", 40000), "server": ("bench", 80),
            "state": dict(state or {}),
        }
        status = 0

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    try:
        yield get
    finally:
        await lifespan.__aexit__(None, None, None)


async def requests_per_second(get: Call, path: str) -> float:
    for _ in range(50):
        assert await get(path) == 200
    done = 0
    deadline = time.perf_counter() + APP_SECONDS

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            assert await get(path) == 200
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return done / (time.perf_counter() - started)


async def insert_public_video() -> uuid.UUID:
    from plugins.video.tables import Video

    now = dt.datetime.now(dt.UTC)
    video_id = uuid.uuid4()
    await Video.insert(Video(
        id=video_id, owner_id="bench", title="A benchmark video", description="d" * 200,
        visibility="PUBLIC", processing_status="COMPLETED",
        video_s3_key=f"videos/bench/{video_id}", size_bytes=1, content_type="video/mp4",
        created_at=now, updated_at=now, version=1,
    )).run()
    return video_id


def video_config(database: str, moto: str, cache: dict[str, Any] | None) -> Any:
    plugins = ["local_aws", "video", *(["cache_redis"] if cache else [])]
    data: dict[str, Any] = {
        "app": {"plugins": plugins},
        "database": {"url": database, "migrate_on_start": True},
        "logging": {"access_log": False, "level": "WARNING"},
        "plugins": {"local_aws": {"endpoint_url": moto}},
    }
    if cache:
        data["plugins"]["cache_redis"] = cache
    return config_from_dict(data, source="<bench>", environ={})


async def video_rate(database: str, moto: str, cache: dict[str, Any] | None,
                     extra: list[object]) -> float:
    app = create_app(video_config(database, moto, cache), plugins=extra)
    async with serving(app) as get:
        video_id = await insert_public_video()
        return await requests_per_second(get, f"/api/v1/upload/videos/{video_id}")


async def bare_rate(body: bytes) -> float:
    async def handler(request: Any) -> Response:
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/video", handler)])
    async with serving(app) as get:
        return await requests_per_second(get, "/video")


async def bare_redis_rate(body: bytes, prefix: str) -> float:
    """A bare handler that reads the JSON from Redis: the design we replace was measured
    against this one (its cached get-by-id ran at 0.30x of it)."""
    client = aioredis.Redis.from_url(REDIS_URL)
    key = f"{prefix}:bare"
    await client.set(key, body, ex=60)

    async def handler(request: Any) -> Response:
        return Response(await client.get(key), media_type="application/json")

    app = Starlette(routes=[Route("/video", handler)])
    try:
        async with serving(app) as get:
            return await requests_per_second(get, "/video")
    finally:
        await client.delete(key)
        await client.aclose()


async def app_rates(prefix: str, moto: str, tmp: str) -> dict[str, float]:
    database = os.environ.get("ITUBE_BENCH_DATABASE_URL", f"sqlite:///{tmp}/bench.db")
    redis = {"url": REDIS_URL, "key_prefix": prefix}
    rates = {
        "no cache (database every time)": await video_rate(database, moto, None, [NoCachePlugin()]),
        "in-process cache": await video_rate(database, moto, None, []),
        "redis cache": await video_rate(database, moto, redis, []),
    }
    body = orjson.dumps({"id": str(uuid.uuid4()), "title": "A benchmark video"} | {
        "description": "d" * 200})
    return {"bare Starlette handler (baseline)": await bare_rate(body),
            "bare handler reading Redis": await bare_redis_rate(body, prefix), **rates}


async def run() -> None:
    prefix = f"itube-bench-{uuid.uuid4().hex[:8]}"
    costs = await backend_costs(prefix)
    base = costs["in-process get"]
    print(f"backend calls (us per call; ratio to an in-process get of {len(VALUE)} bytes)")
    for name, cost in costs.items():
        print(f"  {name:34s} {cost:9.1f} us  {cost / base:8.1f}x")

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rates = await app_rates(prefix, f"http://{host}:{port}", tmp)
    finally:
        moto.stop()
    baseline = rates["bare Starlette handler (baseline)"]
    print(f"GET /api/v1/upload/videos/{{id}}, {CONCURRENCY} in flight, called as ASGI "
          "(requests/s; ratio to the bare handler)")
    for name, rate in rates.items():
        print(f"  {name:34s} {rate:9.0f} /s  {rate / baseline:8.2f}x")
    print("  redis-cached get-by-id / bare handler reading Redis: "
          f"{rates['redis cache'] / rates['bare handler reading Redis']:.2f}x")


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("itube").setLevel(logging.ERROR)  # the down-Redis runs log by design
    asyncio.run(run())


if __name__ == "__main__":
    main()
