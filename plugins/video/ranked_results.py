"""Relevance pages of the public listings, read from ranked results kept in the cache.

A relevance search ranks every match once (up to `search_max_results`) and keeps the ids
and scores, best first, in the app's cache for `search_results_ttl_seconds`: a head (a
token, the count, whether every match is in, and the first entry of each block) and the
entries in blocks of `search_results_block_size`, each entry a score (float64, as the
database computed it) and an id (16 bytes). A page finds its cursor `(score, id)` by
bisection, first among the blocks' first entries and then in one block, reads its ids'
rows by primary key and shows only those still public, completed and matching: the cache
holds no video's content, and never shows one that was hidden since.

The results are named under the list generation that every change of a video drops (see
`VideoService.invalidate`): after a change no request reads a ranking made before it, and
a ranking made across the change is stored under the dropped generation, where no one reads.

A cursor is a position in the order, not in one list: after the results expire and are
ranked again, the next page is what comes after `(score, id)` in the new ranking.
When the cache does not answer, a page is ranked in the database as each one was before
(the listing statement), without the depth bound.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
import uuid
from collections.abc import Awaitable, Callable

import attrs
import orjson

from core.cache import Cache, CacheUnavailable, SingleFlight
from core.db import engine_kind
from core.errors import ValidationFailed
from core.metrics import record_cache_lookup
from plugins.video import queries
from plugins.video.config import VideoSettings
from plugins.video.listing import Listing
from plugins.video.models import VideoRecord
from plugins.video.tables import Video

KEY_PREFIX = "video:v1:ranked:"
# An entry: the score, little-endian float64, then the id's 16 bytes (whose order is the
# order of ids on both databases).
ENTRY = struct.Struct("<d16s")
# A block outlives its head by this share of the TTL, so a page that read the head finds
# every block it names.
BLOCK_GRACE = 1.0
# The most entries a page reads by id at once, when rows hidden since the ranking leave it
# short and it reads on (each read twice the last, up to this).
MAX_BATCH = 1_000

Entry = tuple[float, bytes]


class MissingBlock(Exception):
    """A block the head names is no longer in the cache (evicted, or the store failed)."""


def _is_after(entry: Entry, score: float, id_bytes: bytes) -> bool:
    """Does `entry` come after the position `(score, id)`? Both descend."""
    return entry[0] < score or (entry[0] == score and entry[1] < id_bytes)


def _count_not_after(size: int, entry_at: Callable[[int], Entry], score: float,
                     id_bytes: bytes) -> int:
    """How many of the `size` ordered entries come at or before `(score, id)`: bisection."""
    low, high = 0, size
    while low < high:
        middle = (low + high) // 2
        if _is_after(entry_at(middle), score, id_bytes):
            high = middle
        else:
            low = middle + 1
    return low


def encode_block(entries: list[Entry]) -> bytes:
    return b"".join(ENTRY.pack(score, id_bytes) for score, id_bytes in entries)


def block_entry(block: bytes, index: int) -> Entry:
    score, id_bytes = ENTRY.unpack_from(block, index * ENTRY.size)
    return score, id_bytes


@attrs.define
class RankedList:
    """Ranked results: the head's facts, and the blocks read so far (all of them when just
    ranked); `read_block` fetches another from the cache."""

    token: str
    count: int
    # Every match is in the list (it was not cut at the depth bound).
    complete: bool
    block_size: int
    firsts: list[Entry]
    blocks: dict[int, bytes] = attrs.Factory(dict)
    read_block: Callable[[int], Awaitable[bytes | None]] | None = None

    async def block(self, index: int) -> bytes:
        if index not in self.blocks:
            found = await self.read_block(index) if self.read_block else None
            if found is None:
                raise MissingBlock(index)
            self.blocks[index] = found
        return self.blocks[index]

    async def position_after(self, score: float, video_id: uuid.UUID) -> int:
        """The index of the first entry after `(score, id)`."""
        id_bytes = video_id.bytes
        in_block = _count_not_after(len(self.firsts), self.firsts.__getitem__, score, id_bytes)
        if in_block == 0:
            return 0
        index = in_block - 1
        block = await self.block(index)
        size = len(block) // ENTRY.size
        return index * self.block_size + _count_not_after(
            size, lambda at: block_entry(block, at), score, id_bytes)

    async def entries(self, start: int, wanted: int) -> list[Entry]:
        """Up to `wanted` entries from index `start` on."""
        found: list[Entry] = []
        index = start
        while len(found) < wanted and index < self.count:
            block = await self.block(index // self.block_size)
            at = index % self.block_size
            taken = min(wanted - len(found), len(block) // ENTRY.size - at)
            found += [block_entry(block, at + offset) for offset in range(taken)]
            index += taken
        return found

    def head(self) -> bytes:
        firsts = [[score, id_bytes.hex()] for score, id_bytes in self.firsts]
        return orjson.dumps({"token": self.token, "count": self.count, "complete": self.complete,
                             "block_size": self.block_size, "firsts": firsts})


def ranked_list(matches: list[tuple[float, uuid.UUID]], depth: int, block_size: int
                ) -> RankedList:
    """The list of `matches` (best first, up to depth + 1 of them: one more says the list
    was cut), in blocks."""
    entries = [(score, video_id.bytes) for score, video_id in matches[:depth]]
    starts = range(0, len(entries), block_size)
    return RankedList(
        token=secrets.token_hex(6), count=len(entries), complete=len(matches) <= depth,
        block_size=block_size, firsts=[entries[start] for start in starts],
        blocks={number: encode_block(entries[start:start + block_size])
                for number, start in enumerate(starts)})


def read_head(head: bytes, reader: Callable[[str], Callable[[int], Awaitable[bytes | None]]]
              ) -> RankedList:
    """The list a cached head describes; `reader(token)` reads its blocks."""
    facts = orjson.loads(head)
    return RankedList(
        token=facts["token"], count=facts["count"], complete=facts["complete"],
        block_size=facts["block_size"],
        firsts=[(score, bytes.fromhex(id_hex)) for score, id_hex in facts["firsts"]],
        read_block=reader(facts["token"]))


def results_key(listing: Listing, search_config: str, engine: str, generation: str) -> str:
    """Names the ranked results of a search: its normalised query, its filters, the scope
    (public videos), the text-search configuration, the database kind (whose scores
    differ) and the list generation (dropped by every change of a video)."""
    assert listing.search is not None
    named = orjson.dumps([
        generation, engine, search_config, "public", listing.user_id,
        listing.created_after and listing.created_after.isoformat(),
        listing.created_before and listing.created_before.isoformat(), listing.search.text])
    return KEY_PREFIX + hashlib.sha256(named).hexdigest()[:32]


def _block_key(key: str, token: str, index: int) -> str:
    return f"{key}:{token}:{index}"


class RankedResults:
    """Relevance pages of the public listings, through ranked results in the cache."""

    def __init__(self, cache: Cache, flight: SingleFlight, settings: VideoSettings) -> None:
        self.cache = cache
        self.flight = flight
        self.settings = settings

    async def page(self, listing: Listing, count: int, generation: str | None
                   ) -> queries.Rows:
        """Up to `count` records of the listing's relevance order after its cursor, with
        their scores; a 422 naming `cursor` when it lies beyond the depth bound. The results
        kept under the list `generation` are read; None (the cache did not answer) ranks
        the page in the database."""
        config = self.settings.search_config
        if generation is None:
            return await self._ranked_directly(listing, count)
        key = results_key(listing, config, engine_kind(Video._meta.db), generation)
        try:
            head = await self.cache.get(key)
        except CacheUnavailable:
            return await self._ranked_directly(listing, count)
        record_cache_lookup("miss" if head is None else "hit")
        if head is not None:
            try:
                return await self._page_of(
                    read_head(head, lambda token: self._block_reader(key, token)), listing, count)
            except MissingBlock:
                pass
        ranked = await self.flight.run(key, lambda: self._rank_and_keep(key, listing))
        return await self._page_of(ranked, listing, count)

    async def _ranked_directly(self, listing: Listing, count: int) -> queries.Rows:
        record_cache_lookup("error")
        return await queries.public_page(listing, count, self.settings.search_config)

    def _block_reader(self, key: str, token: str) -> Callable[[int], Awaitable[bytes | None]]:
        async def read(index: int) -> bytes | None:
            try:
                return await self.cache.get(_block_key(key, token, index))
            except CacheUnavailable:
                return None

        return read

    async def _rank_and_keep(self, key: str, listing: Listing) -> RankedList:
        """Rank every match (up to the depth bound) and keep the list: the blocks first,
        then the head that names them."""
        depth = self.settings.search_max_results
        matches = await queries.ranked_matches(listing, depth + 1, self.settings.search_config)
        ranked = ranked_list(matches, depth, self.settings.search_results_block_size)
        ttl = self.settings.search_results_ttl_seconds
        try:
            for index, block in ranked.blocks.items():
                await self.cache.set(_block_key(key, ranked.token, index), block,
                                     ttl * (1 + BLOCK_GRACE))
            await self.cache.set(key, ranked.head(), ttl)
        except CacheUnavailable:
            pass  # the next page ranks again
        return ranked

    async def _page_of(self, ranked: RankedList, listing: Listing, count: int
                       ) -> queries.Rows:
        cursor = listing.cursor
        start = 0 if cursor is None else await ranked.position_after(cursor.score, cursor.id)
        if cursor is not None and not ranked.complete and start >= ranked.count:
            raise _beyond_depth(self.settings.search_max_results)
        return await self._visible(ranked, start, listing, count)

    async def _visible(self, ranked: RankedList, start: int, listing: Listing, count: int
                       ) -> queries.Rows:
        """`count` visible records from entry `start` on: rows hidden since the ranking are
        skipped, and the next entries read in batches twice as large each time."""
        records: list[VideoRecord] = []
        scores: list[float] = []
        wanted = count
        while len(records) < count and start < ranked.count:
            batch = await ranked.entries(start, wanted)
            start += len(batch)
            found = await queries.visible_matches(
                [uuid.UUID(bytes=id_bytes) for _, id_bytes in batch], listing,
                self.settings.search_config)
            for score, id_bytes in batch:
                record = found.get(uuid.UUID(bytes=id_bytes))
                if record is not None and len(records) < count:
                    records.append(record)
                    scores.append(score)
            wanted = min(wanted * 2, MAX_BATCH)
        return queries.Rows(records, scores)


def _beyond_depth(depth: int) -> ValidationFailed:
    return ValidationFailed.field(
        "cursor", f"is beyond the {depth} best matches a search pages through "
                  "(search_max_results); narrow the search")

