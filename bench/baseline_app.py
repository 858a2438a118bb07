"""The baselines of `bench_load`: bare Starlette handlers, no itube code, served by uvicorn.
Each does the irreducible work of the itube route it stands beside, and nothing else.

    uvicorn bench.baseline_app:create_app --factory

Settings come from the environment (bench_load sets them):

- ITUBE_BENCH_BODY_FILE: the JSON body `/fixed` returns (itube's get-by-id answer);
- ITUBE_BENCH_DATABASE_URL: the PostgreSQL database `/row/{id}` and `/page` read;
- ITUBE_BENCH_SMALL_DATABASE_URL: the one `/small/page` reads (optional);
- ITUBE_BENCH_DATABASE_POOL: the pool's upper bound (itube's `pool_max_size`);
- ITUBE_BENCH_REDIS_URL and ITUBE_BENCH_REDIS_KEY: where `/redis` reads its body;
- ITUBE_BENCH_PLAYLIST_KEY: the Redis key `/playlist` reads (bench_playback sets it);
- ITUBE_BENCH_S3_ENDPOINT: the S3 endpoint `/presign` signs upload URLs for and
  `/multipart` starts uploads at (in the bucket itube's local emulation provisions);
- ITUBE_BENCH_SIGV4_KEY_ID and ITUBE_BENCH_SIGV4_SECRET: the key pair `/by-key/...` accepts.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio.to_thread
import asyncpg
import boto3
import orjson
import redis.asyncio as aioredis
from botocore.config import Config as BotoConfig
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.sigv4 import verify

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ROW = "SELECT * FROM videos WHERE id = $1"
ID_BY_KEY = "SELECT id FROM videos WHERE video_s3_key = $1"
BY_KEY_PREFIX = "/api/v1/upload/videos/by-key/"
RAW_BUCKET = "itube-raw-videos"
ROW_TTL_SECONDS = 300
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


async def row_through_redis(request: Request) -> Response:
    """(b'') A read-through cache's miss: a Redis GET, the row through asyncpg, and a Redis
    SET NX storing it: the round trips itube's uncached get makes with cache_redis."""
    state = request.state
    video_id = request.path_params["video_id"]
    key = f"{state.redis_key}:row:{video_id}"
    cached = await state.redis.get(key)
    if cached is not None:
        return _json(cached)
    record = await state.pool.fetchrow(ROW, video_id)
    if record is None:
        return Response(status_code=404)
    body = _rows_json(dict(record))
    await state.redis.set(key, body, ex=ROW_TTL_SECONDS, nx=True)
    return _json(body)


async def page(request: Request) -> Response:
    """(b') The 21 rows after a keyset position (`micros`, `id`), as a JSON array."""
    return await _page(request, request.state.pool)


async def small_page(request: Request) -> Response:
    """(b') on the small database: what the query's depth and the table's size cost the
    database itself."""
    return await _page(request, request.state.small_pool)


async def _page(request: Request, pool: asyncpg.Pool) -> Response:
    after = EPOCH + dt.timedelta(microseconds=int(request.query_params["micros"]))
    last_id = uuid.UUID(request.query_params["id"])
    limit = int(request.query_params.get("limit", "20"))
    records = await pool.fetch(PAGE, after, last_id, limit + 1)
    return _json(_rows_json([dict(record) for record in records[:limit]]))


async def from_redis(request: Request) -> Response:
    """(c) The same JSON body, read from Redis on every request."""
    return _json(await request.state.redis.get(request.state.redis_key))


async def playlist(request: Request) -> Response:
    """(f) An HLS playlist's text read from Redis as stored: no signing, no access check."""
    body = await request.state.redis.get(request.state.playlist_key)
    if body is None:
        return Response(status_code=404)
    return Response(body, media_type="application/vnd.apple.mpegurl")


async def presign(request: Request) -> Response:
    """(d) An upload URL signed by boto3, as JSON (no auth, no body read)."""
    url = request.state.s3.generate_presigned_url(
        "put_object",
        Params={"Bucket": RAW_BUCKET, "Key": f"videos/anyone/{uuid.uuid4()}",
                "ContentType": "video/mp4"},
        ExpiresIn=900, HttpMethod="PUT",
    )
    return _json(orjson.dumps({"url": url}))


async def multipart(request: Request) -> Response:
    """(f) A multipart upload started through boto3 in a worker thread, as itube starts one,
    its upload id as JSON (no auth, no body read, no ledger, no part URLs)."""
    started = await anyio.to_thread.run_sync(functools.partial(
        request.state.s3.create_multipart_upload, Bucket=RAW_BUCKET,
        Key=f"videos/anyone/{uuid.uuid4()}", ContentType="video/mp4"))
    return _json(orjson.dumps({"upload_id": started["UploadId"]}))


async def by_key(request: Request) -> Response:
    """(e) A lean SigV4 check, then the id of the video at an S3 key through asyncpg."""
    scope = request.scope
    path = scope["raw_path"].decode("latin-1")
    signer = verify(request.method, path, scope["query_string"].decode("latin-1"),
                    request.headers, request.state.sigv4_secrets)
    if signer is None:
        return Response(status_code=401)
    video_id = await request.state.pool.fetchval(ID_BY_KEY, path.removeprefix(BY_KEY_PREFIX))
    if video_id is None:
        return Response(status_code=404)
    return _json(orjson.dumps({"video_id": str(video_id)}))


def _s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="bench", aws_secret_access_key="bench",
        config=BotoConfig(signature_version="s3v4"),
    )


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    environ = os.environ
    pool = await _pool(environ["ITUBE_BENCH_DATABASE_URL"])
    small_url = environ.get("ITUBE_BENCH_SMALL_DATABASE_URL")
    small_pool = await _pool(small_url) if small_url else None
    redis = aioredis.Redis.from_url(environ["ITUBE_BENCH_REDIS_URL"], max_connections=256)
    try:
        yield {
            "body": Path(environ["ITUBE_BENCH_BODY_FILE"]).read_bytes(),
            "pool": pool,
            "small_pool": small_pool,
            "redis": redis,
            "redis_key": environ["ITUBE_BENCH_REDIS_KEY"],
            "playlist_key": environ.get("ITUBE_BENCH_PLAYLIST_KEY", ""),
            "s3": _s3_client(environ.get("ITUBE_BENCH_S3_ENDPOINT", "http://127.0.0.1:4566")),
            "sigv4_secrets": {environ.get("ITUBE_BENCH_SIGV4_KEY_ID", ""):
                              environ.get("ITUBE_BENCH_SIGV4_SECRET", "")},
        }
    finally:
        await redis.aclose()
        await pool.close()
        if small_pool is not None:
            await small_pool.close()


async def _pool(url: str) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        url, min_size=1, max_size=int(os.environ.get("ITUBE_BENCH_DATABASE_POOL", "10")))


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/fixed", fixed),
            Route("/row/{video_id:uuid}", row),
            Route("/row-through-redis/{video_id:uuid}", row_through_redis),
            Route("/page", page),
            Route("/small/page", small_page),
            Route("/redis", from_redis),
            Route("/playlist", playlist),
            Route("/presign", presign, methods=["POST"]),
            Route("/multipart", multipart, methods=["POST"]),
            Route(BY_KEY_PREFIX + "{s3_key:path}", by_key),
        ],
        lifespan=lifespan,
    )
