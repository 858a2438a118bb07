"""Keyset pagination: the orders a listing may be sorted in, and an opaque cursor naming
the last row of a page in one of them."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import math
import re
import uuid

import attrs

from core.errors import ValidationFailed
from plugins.video.models import VideoRecord

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# What an issued cursor looks like (unpadded base64url), published in the OpenAPI document.
CURSOR_MAX_LENGTH = 100
CURSOR_PATTERN = "^[A-Za-z0-9_-]*$"
# A listing's cursor may carry a title: 200 characters of up to four UTF-8 bytes each.
LISTING_CURSOR_MAX_LENGTH = 1200
_CURSOR_TEXT = re.compile(CURSOR_PATTERN)


class Sort(enum.Enum):
    """The order of a listing; each breaks ties by id, in the same direction."""

    NEWEST = "newest"
    OLDEST = "oldest"
    TITLE = "title"
    # Best match first: only with a search (`?q=`), whose score orders it.
    RELEVANCE = "relevance"


@attrs.frozen(kw_only=True)
class Cursor:
    """The position after which the next page starts: the last row's id and the key of the
    sort the page was in (`created_at` for newest and oldest, `title` for title, `score`
    for relevance, with the digest of the search it belongs to)."""

    id: uuid.UUID
    sort: Sort = Sort.NEWEST
    created_at: dt.datetime = EPOCH
    title: str = ""
    score: float = 0.0
    search: str = ""

    @classmethod
    def after(cls, record: VideoRecord, sort: Sort, score: float = 0.0, search: str = ""
              ) -> Cursor:
        if sort is Sort.TITLE:
            return cls(id=record.id, sort=sort, title=record.title)
        if sort is Sort.RELEVANCE:
            return cls(id=record.id, sort=sort, score=score, search=search)
        return cls(id=record.id, sort=sort, created_at=record.created_at)

    @property
    def key(self) -> dt.datetime | str | float:
        """The value of the sort's key at this position."""
        if self.sort is Sort.RELEVANCE:
            return self.score
        return self.title if self.sort is Sort.TITLE else self.created_at

    def encode(self) -> str:
        """`sort:key:id`: the id last, so a cursor cut short never names another row. A
        score is written as `search~score`, the float's shortest exact form."""
        if self.sort is Sort.TITLE:
            key = self.title
        elif self.sort is Sort.RELEVANCE:
            key = f"{self.search}~{self.score!r}"
        else:
            key = str((self.created_at - EPOCH) // dt.timedelta(microseconds=1))
        raw = f"{self.sort.value}:{key}:{self.id.hex}".encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor this API issued; anything else is a 422 naming `cursor`."""
        try:
            # base64 would skip characters outside its alphabet: refuse them instead
            if len(text) > LISTING_CURSOR_MAX_LENGTH or not _CURSOR_TEXT.fullmatch(text):
                raise ValueError("not base64url")
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            sort_text, rest = raw.split(":", 1)
            key, id_hex = rest.rsplit(":", 1)
            sort, cursor_id = Sort(sort_text), uuid.UUID(hex=_exact_hex(id_hex))
            if sort is Sort.TITLE:
                return cls(id=cursor_id, sort=sort, title=key)
            if sort is Sort.RELEVANCE:
                return _scored(cursor_id, key)
            if not key.lstrip("-").isdigit():
                raise ValueError("malformed")
            created_at = EPOCH + dt.timedelta(microseconds=int(key))
            return cls(id=cursor_id, sort=sort, created_at=created_at)
        except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
            raise ValidationFailed.field(
                "cursor", "is not a cursor this API issued; start again without one"
            ) from None


def _scored(cursor_id: uuid.UUID, key: str) -> Cursor:
    search, score_text = key.split("~")
    score = float(score_text)
    if not math.isfinite(score):
        raise ValueError("malformed")
    return Cursor(id=cursor_id, sort=Sort.RELEVANCE, score=score, search=search)


def _exact_hex(text: str) -> str:
    """An id as a cursor writes it: 32 hex digits, not the other forms `uuid.UUID` takes."""
    if len(text) != 32:
        raise ValueError("malformed")
    return text


@attrs.frozen
class Page:
    """A rendered page: the JSON array and the cursor of the next page, if any."""

    body: bytes
    next_cursor: str | None
