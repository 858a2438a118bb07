"""Lease tokens, and whether a report's token may speak for a video."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from core.errors import Conflict
from plugins.video.models import VideoRecord

# The header that carries a lease token on heartbeats and status reports.
LEASE_HEADER = "Lease-Token"
# Who the history names for what the lease sweep does.
SYSTEM = "system"
# The reason of the history row and event of an expired lease.
LEASE_EXPIRED = "lease_expired"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored: the token is random (256 bits), so a plain SHA-256 suffices."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_live(video: VideoRecord, now: dt.datetime) -> bool:
    return (video.lease_token_hash is not None and video.lease_expires_at is not None
            and video.lease_expires_at > now)


def check_report(video: VideoRecord, token: str | None, now: dt.datetime) -> None:
    """409 unless a report with `token` (or none) may change `video`: without a token only
    while no lease is live (the v1 flow); with one only while it holds the live lease."""
    if token is None:
        if is_live(video, now):
            raise Conflict(
                f"This video is leased until {_iso(video.lease_expires_at)}; send the "
                f"lease's token in the {LEASE_HEADER} header",
                lease_expires_at=_iso(video.lease_expires_at))
        return
    stored = video.lease_token_hash
    if stored is None or not hmac.compare_digest(stored, token_hash(token)):
        raise Conflict(f"The {LEASE_HEADER} does not hold this video's lease")
    if not is_live(video, now):
        raise Conflict(f"This lease ended at {_iso(video.lease_expires_at)}; claim a new one",
                       lease_expires_at=_iso(video.lease_expires_at))


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat() if moment is not None else None
