"""Keyset pagination: an opaque cursor naming the last row of a page."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import uuid

import attrs

from core.errors import ValidationFailed

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# What an issued cursor looks like (unpadded base64url), published in the OpenAPI document.
CURSOR_MAX_LENGTH = 100
CURSOR_PATTERN = "^[A-Za-z0-9_-]*$"
_CURSOR_TEXT = re.compile(CURSOR_PATTERN)


@attrs.frozen
class Cursor:
    """The position after which the next page starts (newest first: created_at, then id)."""

    created_at: dt.datetime
    id: uuid.UUID

    def encode(self) -> str:
        micros = (self.created_at - EPOCH) // dt.timedelta(microseconds=1)
        raw = f"{micros}:{self.id.hex}".encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor this API issued; anything else is a 422 naming `cursor`."""
        try:
            # base64 would skip characters outside its alphabet: refuse them instead
            if len(text) > CURSOR_MAX_LENGTH or not _CURSOR_TEXT.fullmatch(text):
                raise ValueError("not base64url")
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
            micros_text, id_hex = raw.split(":")
            if not micros_text.lstrip("-").isdigit() or len(id_hex) != 32:
                raise ValueError("malformed")
            created_at = EPOCH + dt.timedelta(microseconds=int(micros_text))
            return cls(created_at=created_at, id=uuid.UUID(hex=id_hex))
        except (ValueError, binascii.Error, UnicodeDecodeError, OverflowError):
            raise ValidationFailed.field(
                "cursor", "is not a cursor this API issued; start again without one"
            ) from None


@attrs.frozen
class Page:
    """A rendered page: the JSON array and the cursor of the next page, if any."""

    body: bytes
    next_cursor: str | None
