"""Rewriting HLS playlists for private playback: pure, text in and text out.

A playlist names other playlists (a master its variants and alternate renditions) and
media (segments, initialisation sections, keys). Every URI is resolved against the
playlist's own key; one that leaves the video's processed prefix is refused. A playlist
URI becomes a reference to the API's route serving that playlist; any other URI becomes
whatever `sign(key)` returns (a presigned GET). Everything else (tags, byte ranges,
comments, blank lines, line endings) is kept as it was.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import attrs

PLAYLIST_SUFFIX = ".m3u8"
# Where playlists are served, relative to the video's base path: the master at
# MASTER_PATH, any playlist under the prefix at PLAYLISTS_DIR/<path after the prefix>.
MASTER_PATH = "playback.m3u8"
PLAYLISTS_DIR = "playback"
# A tag's URI attribute (EXT-X-MEDIA, EXT-X-MAP, EXT-X-KEY, EXT-X-I-FRAME-STREAM-INF,
# EXT-X-SESSION-KEY, EXT-X-PART, ...): quoted, so it holds no quote.
_URI_ATTRIBUTE = re.compile(r'((?:^|,|:)URI=")([^"]*)(")')


class PlaylistError(ValueError):
    """A playlist or path that cannot be served: it reaches outside the video's prefix."""


@attrs.frozen
class Playlist:
    """Where a playlist is: its key, the video's processed prefix (no trailing slash), and
    the path it is served at, relative to the video's base path (MASTER_PATH, or
    PLAYLISTS_DIR/<path>): the references written into it are relative to that."""

    key: str
    prefix: str
    served_at: str

    @classmethod
    def master(cls, key: str, prefix: str) -> Playlist:
        return cls(key, prefix, MASTER_PATH)

    @classmethod
    def under(cls, prefix: str, path: str) -> Playlist:
        """The playlist served at PLAYLISTS_DIR/`path`: PlaylistError unless `path` is a
        plain relative `.m3u8` path (no `..`, no empty or `.` segment)."""
        segments = path.split("/")
        if (not path.endswith(PLAYLIST_SUFFIX) or path.startswith("/")
                or any(segment in ("", ".", "..") for segment in segments)):
            raise PlaylistError(f"not a playlist path under the video: {path!r}")
        return cls(f"{prefix}/{path}", prefix, f"{PLAYLISTS_DIR}/{path}")

    def resolve(self, uri: str) -> str:
        """The key `uri` names, relative to this playlist's key; PlaylistError when it is
        an absolute URL or leaves the prefix."""
        parts = urlsplit(uri)
        if parts.scheme or parts.netloc:
            raise PlaylistError(f"an absolute URI: {uri!r}")
        path = unquote(parts.path)
        if path.startswith("/"):
            key = posixpath.normpath(path.lstrip("/"))
        else:
            key = posixpath.normpath(posixpath.join(posixpath.dirname(self.key), path))
        if not key.startswith(f"{self.prefix}/") or ".." in key.split("/"):
            raise PlaylistError(f"a URI outside the video's prefix: {uri!r}")
        return key

    def reference(self, key: str) -> str:
        """The URI, relative to where this playlist is served, of the route serving the
        playlist at `key`."""
        target = f"{PLAYLISTS_DIR}/{key[len(self.prefix) + 1:]}"
        return posixpath.relpath(target, posixpath.dirname(self.served_at) or ".")


def rewrite(text: str, playlist: Playlist, sign: Callable[[str], str]) -> str:
    """`text` with every URI replaced: playlists by their route, media by `sign(key)`."""

    def replace(uri: str) -> str:
        key = playlist.resolve(uri)
        return playlist.reference(key) if key.endswith(PLAYLIST_SUFFIX) else sign(key)

    return "".join(_rewrite_line(line, replace) for line in text.splitlines(keepends=True))


def _rewrite_line(line: str, replace: Callable[[str], str]) -> str:
    content = line.rstrip("\r\n")
    ending = line[len(content):]
    stripped = content.strip()
    if not stripped:
        return line
    if stripped.startswith("#EXT"):
        if 'URI="' not in content:
            return line
        rewritten = _URI_ATTRIBUTE.sub(
            lambda match: f"{match[1]}{replace(match[2])}{match[3]}", content)
        return rewritten + ending
    if stripped.startswith("#"):  # a comment
        return line
    return replace(stripped) + ending
