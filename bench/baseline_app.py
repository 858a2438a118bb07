"""The baselines of `bench_load`: bare Starlette handlers, no itube code, served by uvicorn.

    uvicorn bench.baseline_app:create_app --factory

Settings come from the environment (bench_load sets them):

- ITUBE_BENCH_BODY_FILE: the JSON body `/fixed` returns (itube's get-by-id answer);
- ITUBE_BENCH_DATABASE_URL: the PostgreSQL database `/row/{id}` and `/page` read;
- ITUBE_BENCH_DATABASE_POOL: the pool's upper bound (itube's `pool_max_size`);
- ITUBE_BENCH_REDIS_URL and ITUBE_BENCH_REDIS_KEY: where `/redis` reads its body.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ROW = "SELECT * FROM videos WHERE id = $1"
# The public listing's keyset query, as itube's index expects it.
PAGE = (
    "SELECT * FROM videos "
    "WHERE visibility = 'PUBLIC' AND processing_status = 'COMPLETED' "
    "AND (created_at, id) < ($1, $2) "
    "ORDER BY created_at DESC, id DESC LIMIT $3"
)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _rows_json(rows: object) -> bytes:
    # asyncpg's UUID type is a uuid.UUID subclass, which orjson does not serialise itself.
    return orjson.dumps(rows, default=str)


async def fixed(request: Request) -> Response:
    """(a) A fixed JSON body."""
    return _json(request.state.body)


async def row(request: Request) -> Response:
    """(b) One video row by id through an asyncpg pool, as JSON."""
    record = await request.state.pool.fetchrow(ROW, request.path_params["video_id"])
    if record is None:
        return Response(status_code=404)
    return _json(_rows_json(dict(record)))


async def page(request: Request) -> Response:
    """(b') The 21 rows after a keyset position (`micros`, `id`), as a JSON array."""
    after = EPOCH + dt.timedelta(microseconds=int(request.query_params["micros"]))
    last_id = uuid.UUID(request.query_params["id"])
    limit = int(request.query_params.get("limit", "20"))
    records = await request.state.pool.fetch(PAGE, after, last_id, limit + 1)
    return _json(_rows_json([dict(record) for record in records[:limit]]))


async def from_redis(request: Request) -> Response:
    """(c) The same JSON body, read from Redis on every request."""
    return _json(await request.state.redis.get(request.state.redis_key))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    environ = os.environ
    pool = await asyncpg.create_pool(
        environ["ITUBE_BENCH_DATABASE_URL"], min_size=1,
        max_size=int(environ.get("ITUBE_BENCH_DATABASE_POOL", "10")),
    )
    redis = aioredis.Redis.from_url(environ["ITUBE_BENCH_REDIS_URL"], max_connections=256)
    try:
        yield {
            "body": Path(environ["ITUBE_BENCH_BODY_FILE"]).read_bytes(),
            "pool": pool,
            "redis": redis,
            "redis_key": environ["ITUBE_BENCH_REDIS_KEY"],
        }
    finally:
        await redis.aclose()
        await pool.close()


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/fixed", fixed),
            Route("/row/{video_id:uuid}", row),
            Route("/page", page),
            Route("/redis", from_redis),
        ],
        lifespan=lifespan,
    )
