"""Entity tags: a video's ETag is its stored `version`, quoted, so every change (an edit, a
status move) gives it a new one. No web framework here: the service decides with it."""

from __future__ import annotations

import attrs

from plugins.video.models import VideoOut


def entity_tag(version: int) -> str:
    """The strong ETag of a video at `version`: `"<version>"`."""
    return f'"{version}"'


def if_match_allows(if_match: str | None, version: int) -> bool:
    """Whether an `If-Match` header lets a change of the video at `version` go ahead: no
    header, `*`, or a list naming its ETag. A weak tag (`W/"3"`) never matches: `If-Match`
    compares strongly (RFC 9110, 13.1.1)."""
    if if_match is None or if_match.strip() == "*":
        return True
    current = entity_tag(version)
    return any(candidate.strip() == current for candidate in if_match.split(","))


@attrs.frozen
class TaggedVideo:
    """A video as answered, with the ETag of the version it shows."""

    video: VideoOut
    etag: str
