"""The data of the library table: searchable titles and descriptions for the seeded
videos, the signed-in owner's own videos (by COPY) and uploads (objects in S3), and the
cursors that start each listing's deep page, read from the table as itube orders it."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import asyncpg

from bench.seeding import TextSource
from plugins.video.pagination import Cursor, Sort
from plugins.video.search import DEFAULT_SEARCH_CONFIG, parse_query, scored_source
from plugins.video.statements import ORDERS, PUBLIC_AND_COMPLETED

# Words of titles and descriptions, distinct once stemmed and none a stop word. Each video
# draws TITLE_WORDS + DESCRIPTION_WORDS of them at random, so any one word is in about
# 1 - (1 - 1/254)^20, 7.6%, of the videos: enough for a search's page 1000 at 1,000,000.
_WORDS = """
harbour sunset mountain river forest desert island village castle garden bridge tower
market festival concert guitar piano violin drum orchestra choir dance ballet theatre
museum gallery painting sculpture pottery weaving knitting sewing baking bread pastry
chocolate coffee tea wine cheese pasta noodle curry salad soup barbecue picnic breakfast
lunch dinner kitchen recipe spice garlic lemon orange apple cherry strawberry mango
banana coconut pumpkin tomato carrot potato onion pepper mushroom honey butter
football tennis cricket hockey rugby baseball basketball volleyball golf cycling
running swimming climbing surfing sailing rowing kayak skiing snowboard skating
marathon yoga boxing karate chess puzzle riddle trivia quiz lecture tutorial lesson
course workshop seminar interview podcast documentary trailer review unboxing vlog
travel journey voyage expedition safari camping hiking trail canyon valley glacier
volcano waterfall lagoon beach coast lighthouse meadow prairie tundra jungle savanna
reef ocean lake pond stream creek marsh swamp cave cliff dune oasis
eagle falcon owl parrot penguin dolphin whale shark octopus turtle tortoise lizard
snake frog butterfly beetle spider tiger lion leopard cheetah elephant giraffe zebra
rhino hippo gorilla monkey panda koala kangaroo wolf fox bear deer moose rabbit
squirrel hedgehog otter beaver badger
robot rocket satellite telescope galaxy planet comet asteroid nebula eclipse
engine tractor train tram subway airplane helicopter balloon submarine yacht canoe
bicycle scooter motorbike truck bus taxi
winter spring summer autumn morning evening midnight dawn dusk storm thunder
lightning rainbow blizzard drizzle fog breeze
vintage modern classic rustic cozy bright quiet noisy gentle ancient golden silver
crimson emerald sapphire velvet wooden marble copper bronze crystal
"""
VOCABULARY = _WORDS.split()
TITLE_WORDS = 4
DESCRIPTION_WORDS = 16
# The word the search targets look for (as any word, in about 7.6% of the videos).
SEARCH_WORD = "harbour"
# The signed-in owner's videos: unlisted and completed, so no public listing shows them and
# the read targets page through the same rows while the owner edits and deletes.
OWNED_STATE = ("UNLISTED", "COMPLETED")
UPLOAD_TYPE = "video/mp4"


def searchable_text(rng: random.Random) -> tuple[str, str]:
    """A title and a description of words drawn from VOCABULARY with `rng`."""
    words = rng.choices(VOCABULARY, k=TITLE_WORDS + DESCRIPTION_WORDS)
    title = " ".join(words[:TITLE_WORDS]).capitalize()
    return title, " ".join(words[TITLE_WORDS:]).capitalize() + "."


def text_source(seed: int = 20261202) -> TextSource:
    """A `(index) -> (title, description)` for bench.seeding.video_rows, on its own random
    sequence (the rows' ids, times and sizes stay those of the load table's seeding)."""
    rng = random.Random(seed)
    return lambda _index: searchable_text(rng)


# -- the owner's videos and uploads -----------------------------------------------------------


def owned_rows(owner_id: str, ids: Sequence[uuid.UUID], before: dt.datetime
               ) -> Iterator[tuple[Any, ...]]:
    """Rows of bench.seeding.COLUMNS: `owner_id`'s videos, one a second before `before`."""
    rng = random.Random(1202)
    visibility, status = OWNED_STATE
    for index, video_id in enumerate(ids):
        title, description = searchable_text(rng)
        created = before - dt.timedelta(seconds=len(ids) - index)
        yield (video_id, owner_id, title, description, visibility, status,
               f"videos/{owner_id}/{video_id}", None, 10_000_000, UPLOAD_TYPE, None, 120.0,
               created, created, 1)


async def copy_owned(url: str, owner_id: str, ids: Sequence[uuid.UUID], columns: list[str]
                     ) -> None:
    """COPY the owner's videos into the database at `url`, oldest before any seeded one."""
    connection = await asyncpg.connect(url)
    try:
        oldest = await connection.fetchval("SELECT min(created_at) FROM videos")
        await connection.copy_records_to_table(
            "videos", records=owned_rows(owner_id, ids, oldest or dt.datetime.now(dt.UTC)),
            columns=columns)
        await connection.execute("ANALYZE videos")
    finally:
        await connection.close()


def put_uploads(bucket: str, keys: Sequence[str]) -> None:
    """A few bytes of `UPLOAD_TYPE` at each key of `bucket`: the uploads that metadata
    creation registers (it checks them with HeadObject). Written straight into the moto
    server this process runs (bench.bench_load.moto_server), as COPY writes the rows: its
    HTTP API stores about 150 objects a second, and no upload event goes to the queue."""
    from moto.s3.models import s3_backends
    from requests.structures import CaseInsensitiveDict

    partition, account = s3_backends.bucket_accounts[bucket]  # the server made the bucket
    backend = s3_backends[account][partition]
    for key in keys:
        stored = backend.put_object(bucket, key, b"itube", disable_notification=True)
        stored.set_metadata(CaseInsensitiveDict({"Content-Type": UPLOAD_TYPE}))


# -- deep pages -------------------------------------------------------------------------------


def nth_row_query(sort: Sort, searching: bool, config: str = DEFAULT_SEARCH_CONFIG) -> str:
    """The key and id of the public listing's row at offset $1 in `sort` (matching the
    search bound at $2 when `searching`): the row the previous page ends with, in the order
    and with the score itube's listing statement reads."""
    column, direction, _ = ORDERS[sort]
    where = [PUBLIC_AND_COMPLETED]
    if sort is Sort.RELEVANCE:
        source, score, match = scored_source("postgres", config, "$2")
        key = f"{score} AS key"
        where.append(match or "TRUE")
        order = f"{score} {direction}"
    else:
        source, key, order = "videos", f"{column} AS key", f"{column} {direction}"
        if searching:
            where.append(scored_source("postgres", config, "$2")[2] or "TRUE")
    return (f"SELECT {key}, id FROM {source} WHERE {' AND '.join(where)} "
            f"ORDER BY {order}, id {direction} OFFSET $1 LIMIT 1")


def cursor_of(sort: Sort, key: Any, video_id: uuid.UUID, search: str | None) -> str:
    """The cursor a page ending with this row hands on (`search`: the `?q=` text)."""
    if sort is Sort.RELEVANCE:
        if search is None:
            raise ValueError("a relevance cursor needs the search")
        return Cursor(id=video_id, sort=sort, score=float(key),
                      search=parse_query(search).digest).encode()
    if sort is Sort.TITLE:
        return Cursor(id=video_id, sort=sort, title=str(key)).encode()
    return Cursor(id=video_id, sort=sort, created_at=key).encode()


async def page_cursor(url: str, sort: Sort, page: int, search: str | None = None,
                      limit: int = 20) -> str:
    """The cursor of the listing's page `page` (>= 2) in `sort`, matching `search`."""
    query = nth_row_query(sort, search is not None)
    args: list[Any] = [(page - 1) * limit - 1]
    if search is not None:
        args.append(parse_query(search).text)
    connection = await asyncpg.connect(url)
    try:
        row = await connection.fetchrow(query, *args)
    finally:
        await connection.close()
    if row is None:
        raise RuntimeError(f"the listing in {sort.value} order has no page {page}")
    return cursor_of(sort, row["key"], row["id"], search)


async def count_matches(url: str, search: str, config: str = DEFAULT_SEARCH_CONFIG) -> int:
    """How many public, completed videos match `search`."""
    _, _, match = scored_source("postgres", config, "$1")
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(
            f"SELECT count(*) FROM videos WHERE {PUBLIC_AND_COMPLETED} AND {match}",
            parse_query(search).text))
    finally:
        await connection.close()

