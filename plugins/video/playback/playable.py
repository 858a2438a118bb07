"""A playable video: what serving its HLS playlists needs to know of it, made from its row
(a share link's route) or from the facts kept in the last line of its cached answer (the
video's own routes, so a warm playlist request reads no row)."""

from __future__ import annotations

import uuid
from typing import Any

import attrs

from plugins.video.models import OutputKind, VideoRecord
from plugins.video.playback.outputs import output_of
from plugins.video.states import Status, Visibility


@attrs.frozen
class PlayableVideo:
    """A video the caller may play, as far as its playlists are concerned.

    It is the `SignedMedia` that `VideoStorage.signing_with` reads to choose how to sign
    (presigned, or on the CDN signed for the processed prefix, or unsigned)."""

    id: uuid.UUID
    # Bumped by every change of the video: the playlists read and rewritten are kept under it.
    version: int
    visibility: Visibility
    video_s3_key: str
    # The master playlist's key; None unless COMPLETED with an `hls` output (no playback).
    hls_key: str | None

    @property
    def thumbnail_s3_key(self) -> None:
        """A playlist signs no thumbnail."""
        return None

    @classmethod
    def of(cls, record: VideoRecord) -> PlayableVideo:
        return cls(id=record.id, version=record.version, visibility=record.visibility,
                   video_s3_key=record.video_s3_key, hls_key=_hls_key(record))

    def facts(self) -> dict[str, Any]:
        """What a cached answer's header keeps of it (its id is the entry's key)."""
        return _facts(self.version, self.visibility, self.video_s3_key, self.hls_key)

    @classmethod
    def from_facts(cls, video_id: uuid.UUID, facts: dict[str, Any]) -> PlayableVideo:
        return cls(id=video_id, version=facts["version"],
                   visibility=Visibility(facts["visibility"]), video_s3_key=facts["key"],
                   hls_key=facts["hls"])


def playback_facts(record: VideoRecord) -> dict[str, Any]:
    """`PlayableVideo.of(record).facts()`, without making the `PlayableVideo`: every cache
    miss of get-by-id keeps them, and the object cost four times the facts."""
    return _facts(record.version, record.visibility, record.video_s3_key, _hls_key(record))


def _hls_key(record: VideoRecord) -> str | None:
    if record.processing_status is not Status.COMPLETED or not record.outputs:
        return None
    master = output_of(record.outputs, OutputKind.HLS)
    return master.key if master is not None else None


def _facts(version: int, visibility: Visibility, video_s3_key: str,
           hls_key: str | None) -> dict[str, Any]:
    return {"version": version, "visibility": visibility._value_, "key": video_s3_key,
            "hls": hls_key}
