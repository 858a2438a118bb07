"""Share tokens: random, shown once, kept only as their SHA-256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

# 32 random bytes, written as unpadded base64url: 43 characters.
TOKEN_BYTES = 32
TOKEN_LENGTH = 43
TOKEN_PATTERN = f"^[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}$"
_TOKEN_TEXT = re.compile(TOKEN_PATTERN)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What the database keeps of a token: its SHA-256 in hex."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def is_well_formed(token: str) -> bool:
    """Whether `token` could have been issued: anything else is refused unread."""
    return _TOKEN_TEXT.fullmatch(token) is not None


def same_hash(stored: str, computed: str) -> bool:
    return hmac.compare_digest(stored.encode("ascii"), computed.encode("ascii"))
