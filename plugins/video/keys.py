"""S3 keys: `videos/{owner}/{uuid}` and `thumbnails/{owner}/{uuid}`, made and checked here."""

from __future__ import annotations

import enum
import uuid

from core.errors import Forbidden, ValidationFailed
from core.schema import text_problem

# Stands for the key while the playback template is read: no key contains it.
_KEY_MARK = "\0"


def processed_prefix(playback_key_template: str, video_key: str) -> str:
    """The prefix of every processed object of the video uploaded at `video_key`: the
    template up to its first `{key}`, then the key. Issued keys all end in a UUID of the
    same length, so no other video's key starts with this one."""
    return playback_key_template.format(key=_KEY_MARK).partition(_KEY_MARK)[0] + video_key


# S3 allows 1024 bytes; the column holds as many characters, and no issued key is longer.
MAX_KEY_LENGTH = 1024


class MediaKind(enum.StrEnum):
    VIDEO = "videos"
    THUMBNAIL = "thumbnails"


def is_storable_key(key: str) -> bool:
    """Whether `key` could be a stored key at all: not too long, no control characters or
    bidirectional overrides (NUL would fail the query on PostgreSQL)."""
    return len(key) <= MAX_KEY_LENGTH and text_problem(key, "line") is None


def owner_prefix(kind: MediaKind, owner_id: str) -> str:
    """The prefix every key of `owner_id` starts with."""
    if not owner_id or "/" in owner_id or text_problem(owner_id, "line"):
        raise Forbidden("This account's id cannot be used in a storage key")
    return f"{kind.value}/{owner_id}/"


def new_key(kind: MediaKind, owner_id: str) -> str:
    return f"{owner_prefix(kind, owner_id)}{uuid.uuid4()}"


def check_owned_key(key: str, kind: MediaKind, owner_id: str, *, field: str) -> None:
    """Accept only a key this API could have issued to `owner_id`.

    Malformed keys are a 422 naming `field`; a well-formed key under someone else's
    prefix is a 403 for videos (the caller reached for another account's upload) and a
    422 for thumbnails (an invalid reference in otherwise valid metadata).
    """
    if text_problem(key, "line") or ".." in key.split("/"):
        raise ValidationFailed.field(
            field, "must not contain control characters, bidirectional controls or '..'"
        )
    prefix = owner_prefix(kind, owner_id)
    if not key.startswith(prefix):
        message = f"must be a key under {prefix} (one of your own uploads)"
        if kind is MediaKind.VIDEO:
            raise Forbidden(f"{field} {message}")
        raise ValidationFailed.field(field, message)
    rest = key[len(prefix):]
    try:
        canonical = str(uuid.UUID(rest))
    except ValueError:
        canonical = None
    if canonical != rest:
        raise ValidationFailed.field(field, f"must be {prefix}<uuid> as the upload URL returned")
