"""The data under test: a fresh PostgreSQL database of generated videos (COPY), and the
Redis keys of a throwaway prefix; both removed at the end."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import random
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import attrs
import redis

from plugins.video.pagination import Cursor
from tests.support.services import (
    POSTGRES_ADMIN_URL,
    POSTGRES_HINT,
    REDIS_HINT,
    create_postgres_database,
    drop_postgres_database,
)

# One video in ten is not listed publicly: unlisted, private, in progress or failed.
OTHER_STATES = [("UNLISTED", "COMPLETED"), ("PRIVATE", "COMPLETED"),
                ("PUBLIC", "IN_PROGRESS"), ("PUBLIC", "FAILED")]
COLUMNS = ["id", "owner_id", "title", "description", "visibility", "processing_status",
           "video_s3_key", "thumbnail_s3_key", "size_bytes", "content_type", "failure_reason",
           "duration_seconds", "created_at", "updated_at", "version"]
PUBLIC = ("PUBLIC", "COMPLETED")
DESCRIPTION = "d" * 200
# The newest public videos first, as the public listing orders them.
NTH_PUBLIC = (
    "SELECT created_at, id FROM videos "
    "WHERE visibility = 'PUBLIC' AND processing_status = 'COMPLETED' "
    "ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1"
)


# A video's title and description from its index (the library table seeds searchable words).
TextSource = Callable[[int], tuple[str, str]]


def default_text(index: int) -> tuple[str, str]:
    return f"Benchmark video {index}", DESCRIPTION


def video_rows(count: int, public_ids: list[str],
               text: TextSource = default_text) -> Iterator[tuple[Any, ...]]:
    """`count` generated rows, one at a time; the ids of the public, completed ones are
    appended to `public_ids`. `text` writes the titles and descriptions."""
    rng = random.Random(20261124)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=count)
    for index in range(count):
        video_id, owner = uuid.UUID(int=rng.getrandbits(128), version=4), f"user-{index % 100}"
        visibility, status = PUBLIC if index % 10 else OTHER_STATES[
            index // 10 % len(OTHER_STATES)]
        if (visibility, status) == PUBLIC:
            public_ids.append(str(video_id))
        created = start + dt.timedelta(minutes=index, microseconds=rng.randrange(60_000_000))
        yield (
            video_id, owner, *text(index), visibility, status,
            f"videos/{owner}/{video_id}.mp4",
            f"thumbnails/{owner}/{video_id}.jpg" if index % 2 else None,
            rng.randrange(1_000_000, 500_000_000), "video/mp4",
            "transcoder error" if status == "FAILED" else None,
            60.0 + index % 600 if status == "COMPLETED" else None,
            created, created, 1,
        )


@attrs.frozen
class Seeded:
    """A seeded database: its URL, its public video ids (oldest first) and their keys."""

    url: str
    videos: int
    public_ids: list[str]

    def key_of(self, video_id: str) -> str:
        """The video's S3 key as seeded: the owner is not needed to find it in the table."""
        return asyncio.run(_fetch_value(self.url, "SELECT video_s3_key FROM videos "
                                        "WHERE id = $1", uuid.UUID(video_id)))

    def page_cursor(self, page: int, limit: int = 20) -> str:
        """The cursor the public listing's page `page - 1` ends with (page >= 2)."""
        row = asyncio.run(_fetch_row(self.url, NTH_PUBLIC, (page - 1) * limit - 1))
        return Cursor(created_at=row["created_at"], id=row["id"]).encode()

    @property
    def public_pages(self) -> int:
        return len(self.public_ids) // 20


async def _fetch_value(url: str, query: str, *args: Any) -> Any:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchval(query, *args)
    finally:
        await connection.close()


async def _fetch_row(url: str, query: str, *args: Any) -> Any:
    connection = await asyncpg.connect(url)
    try:
        return await connection.fetchrow(query, *args)
    finally:
        await connection.close()


async def _copy(url: str, count: int, public_ids: list[str], text: TextSource) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.copy_records_to_table("videos",
                                               records=video_rows(count, public_ids, text),
                                               columns=COLUMNS)
        await connection.execute("VACUUM ANALYZE videos")
    finally:
        await connection.close()


def migrate(config: Path) -> None:
    from core.cli import main as itube

    with contextlib.redirect_stdout(io.StringIO()):
        if itube(["--config", str(config), "migrate", "forwards"]) != 0:
            raise RuntimeError("itube migrate forwards failed")


@contextlib.contextmanager
def seeded_database(count: int, config_for: Callable[[str], Path],
                    text: TextSource = default_text) -> Iterator[Seeded]:
    """A fresh database with itube's schema (migrated with the config `config_for(url)`
    writes) and `count` videos (their titles and descriptions from `text`), dropped
    afterwards."""
    url = create_postgres_database()
    try:
        migrate(config_for(url))
        public_ids: list[str] = []
        asyncio.run(_copy(url, count, public_ids, text))
        yield Seeded(url=url, videos=count, public_ids=public_ids)
    finally:
        drop_postgres_database(url)


def delete_keys(redis_url: str, prefix: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
        return len(keys)
    finally:
        client.close()


def services_missing(redis_url: str) -> str | None:
    async def ping_postgres() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        await connection.close()

    try:
        asyncio.run(ping_postgres())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return POSTGRES_HINT.format(url=POSTGRES_ADMIN_URL, error=exc)
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return REDIS_HINT.format(url=redis_url, error=exc)
    finally:
        client.close()
    return None
