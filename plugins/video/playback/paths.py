"""The API paths of a video's HLS playback: the master playlist and the playlists it names."""

from __future__ import annotations

import uuid

VIDEOS = "/api/v1/upload/videos"
# The master playlist of a video with an `hls` output, rewritten for the caller.
MANIFEST_ROUTE = VIDEOS + "/{video_id}/playback.m3u8"
# A playlist under the video's processed prefix, its URIs presigned; {path} is the key
# after that prefix and its slash.
PLAYLIST_ROUTE = VIDEOS + "/{video_id}/playback/{path}"
# How the master playlist, served at MANIFEST_ROUTE, names PLAYLIST_ROUTE: relative, so it
# resolves against the manifest's own URL whatever host and scheme served it.
PLAYLIST_REFERENCE = "playback/{path}"


def manifest_path(video_id: uuid.UUID | str) -> str:
    return MANIFEST_ROUTE.format(video_id=video_id)
