"""A shared video's HLS playlists: the playlists its owner is served, behind the link's rule
(docs/shares.md). No web framework here."""

from __future__ import annotations

from core.errors import NotFound
from plugins.video.playback.playable import PlayableVideo
from plugins.video.playback.service import PlaybackService, PlaylistBody
from plugins.video.shares.service import NO_SUCH_LINK, ShareService


async def shared_playlist(shares: ShareService, playback: PlaybackService, token: str,
                          client_address: str, path: str | None = None) -> PlaylistBody:
    """The master playlist (`path` None) or the playlist at `path` of the video the token
    plays, rewritten as for its owner. A video without HLS playback, or a playlist not
    stored, is the link's single 404: a holder learns nothing a refusal would not tell."""
    record = await shares.playable(token, client_address)
    try:
        return await playback.manifest(PlayableVideo.of(record), path)
    except NotFound:
        raise NotFound(NO_SUCH_LINK) from None
