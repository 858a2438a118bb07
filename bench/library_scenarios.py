"""What the library table measures: listings in each order at page 1 and at depth, a
search at depth, and the owner's writes (metadata creation, edit, delete), all on one itube
server; each row divides two of its targets measured in the same round."""

from __future__ import annotations

import json

from bench.scenarios import VIDEOS, Row, Target

SERVER = "library"
LIMIT = 20
# Page 1 of the default listing is cached; this bound (later than any video) makes the
# same page a different listing, read from the database like every other page here.
UNCACHED = "created_before=2100-01-01T00:00:00Z"
# The cursors of the deep pages, by sort (stage values); `word` is the search's `?q=`.
DEEP = {"newest": "deep_newest", "oldest": "deep_oldest", "title": "deep_title",
        "relevance": "deep_relevance", "search_newest": "deep_search_newest"}
# The walks' pools of fresh ids (bench.rounds.Stage.pools).
UPLOADS, EDITS, DELETIONS = "uploads", "edits", "deletions"
# Every owned video is seeded at version 1: an edit asked twice would be a 412, not a
# cheaper no-op.
SEEDED_ETAG = '"1"'
JSON = ("Content-Type", "application/json")
# After each delete run the deletion worker (polling every second) gets this long to purge
# the deleted videos' objects, its CPU per job measured; the jobs left are then closed.
DRAIN_SECONDS = 10.0


def _listing(query: str) -> str:
    return f"{VIDEOS}/?limit={LIMIT}&{query}"


def read_targets() -> list[Target]:
    deep = {sort: f"cursor={{{value}}}" for sort, value in DEEP.items()}
    return [
        Target("newest: page 1", SERVER, _listing(UNCACHED)),
        Target("newest: deep page", SERVER, _listing(deep["newest"])),
        Target("oldest: page 1", SERVER, _listing("sort=oldest")),
        Target("oldest: deep page", SERVER, _listing(f"sort=oldest&{deep['oldest']}")),
        Target("title: page 1", SERVER, _listing("sort=title")),
        Target("title: deep page", SERVER, _listing(f"sort=title&{deep['title']}")),
        Target("search, relevance: page 1", SERVER, _listing("q={word}")),
        Target("search, relevance: deep page", SERVER,
               _listing(f"q={{word}}&{deep['relevance']}")),
        Target("search, newest: deep page", SERVER,
               _listing(f"q={{word}}&sort=newest&{deep['search_newest']}")),
    ]


def metadata_body(owner_id: str) -> str:
    """The metadata of the upload at `videos/{owner_id}/{id}` ({id}: each walked id)."""
    return json.dumps({"title": "Harbour at dawn", "description": "Uploaded by the benchmark.",
                       "visibility": "PUBLIC", "video_s3_key": f"videos/{owner_id}/{{id}}"},
                      separators=(",", ":"))


def write_targets(owner_id: str) -> list[Target]:
    """The owner's writes, each a walk over ids no request used before."""
    return [
        Target("metadata creation", SERVER, f"{VIDEOS}/metadata", method="POST",
               auth="cookie", walk=True, pool=UPLOADS, body=metadata_body(owner_id),
               headers=(JSON,)),
        Target("edit", SERVER, f"{VIDEOS}/{{id}}", method="PATCH", auth="cookie", walk=True,
               pool=EDITS, body='{"title":"Harbour at dusk, edited"}',
               headers=(JSON, ("If-Match", SEEDED_ETAG))),
        Target("delete", SERVER, f"{VIDEOS}/{{id}}", method="DELETE", auth="cookie",
               walk=True, pool=DELETIONS),
    ]


WRITES = ["metadata creation", "edit", "delete"]


def rows(depth: int, word: str) -> list[Row]:
    deep = f"page {depth}"
    return [
        Row(f"search (q={word}, by relevance) {deep} ÷ the unfiltered {deep} (newest first)",
            "search, relevance: deep page", "newest: deep page", 0.5),
        Row(f"search (q={word}, newest first) {deep} ÷ the unfiltered {deep} (newest first)",
            "search, newest: deep page", "newest: deep page", 0.5),
        Row(f"newest first: {deep} ÷ page 1 (uncached)", "newest: deep page",
            "newest: page 1", 0.83),
        Row(f"oldest first: {deep} ÷ page 1", "oldest: deep page", "oldest: page 1", 0.83),
        Row(f"by title: {deep} ÷ page 1", "title: deep page", "title: page 1", 0.83),
        Row(f"search by relevance (q={word}): {deep} ÷ page 1",
            "search, relevance: deep page", "search, relevance: page 1", 0.83),
        Row("edit (PATCH with If-Match, a new title) ÷ metadata creation (POST …/metadata)",
            "edit", "metadata creation", 0.67),
        Row("delete (DELETE …/{id}) ÷ metadata creation (POST …/metadata)",
            "delete", "metadata creation", 0.67),
    ]
