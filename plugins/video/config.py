"""Settings of the video plugin: `[plugins.video]`."""

from __future__ import annotations

import string

import attrs

from core.cache import INVALIDATION_HOLD_SECONDS
from plugins.video.keys import MediaKind

GIB = 1024**3
MIB = 1024**2
# The longest X-Amz-Expires S3 accepts on a presigned URL: 7 days.
S3_MAX_EXPIRES_SECONDS = 7 * 24 * 3600

COMMON_VIDEO_TYPES = [
    "video/mp4",
    "video/quicktime",
    "video/webm",
    "video/x-matroska",
    "video/x-msvideo",
    "video/mpeg",
]
COMMON_IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"]


@attrs.define
class VideoSettings:
    # Anyone may list and open public videos; false requires a signed-in user for both.
    public_discovery: bool = True
    # Bucket receiving uploads; "" means the one local AWS provisioned, else itube-raw-videos.
    raw_bucket: str = ""
    # Bucket receiving thumbnails; "" means the provisioned one, else itube-video-thumbnails.
    thumbnails_bucket: str = ""
    # Bucket the transcoder writes playable output to; "" means the provisioned one.
    processed_bucket: str = ""
    # How long a presigned upload URL stays valid, in seconds (15 minutes).
    upload_url_ttl_seconds: int = 900
    # How long a presigned playback or thumbnail URL stays valid at least, from when it is
    # handed out (at most this plus media_url_window_seconds); keep it above the cache TTL.
    playback_url_ttl_seconds: int = 3600
    # Playback and thumbnail URLs are signed once per window of this many seconds and
    # handed out unchanged within it (browsers can cache them); 0 signs each second.
    # At most playback_url_ttl_seconds, and the two add up to at most 7 days.
    media_url_window_seconds: int = 60
    # Public base URL (a CDN) for processed videos; "" means presigned GETs on the bucket.
    playback_base_url: str = ""
    # Public base URL for thumbnails; "" means presigned GETs on the thumbnails bucket.
    thumbnail_base_url: str = ""
    # Key of a completed video's playable output in the processed bucket; {key} is the
    # uploaded key (e.g. "{key}/index.m3u8" for HLS output).
    playback_key_template: str = "{key}"
    # Content types an upload URL may be requested for.
    allowed_video_types: list[str] = attrs.Factory(lambda: list(COMMON_VIDEO_TYPES))
    # Content types a thumbnail upload URL may be requested for.
    allowed_image_types: list[str] = attrs.Factory(lambda: list(COMMON_IMAGE_TYPES))
    # Largest video accepted, declared or uploaded, in bytes (5 GiB: a single S3 PUT's limit).
    max_video_bytes: int = 5 * GIB
    # Largest thumbnail accepted, in bytes.
    max_thumbnail_bytes: int = 10 * MIB
    # How long a video and the first page of the public list stay cached, in seconds.
    cache_ttl_seconds: int = 60
    # After a change, reads of that video bypass the cache this long, so a load that
    # started before the change cannot store what it read; keep it above the slowest query.
    cache_invalidation_hold_seconds: float = INVALIDATION_HOLD_SECONDS

    def upload_types(self, kind: MediaKind) -> list[str]:
        """The content types an upload URL of `kind` may be asked for, lower-cased (MIME
        types compare without case); the document publishes exactly this list."""
        types = self.allowed_video_types if kind is MediaKind.VIDEO else self.allowed_image_types
        return list(dict.fromkeys(content_type.strip().lower() for content_type in types))


def settings_problems(settings: VideoSettings, *, production: bool = False) -> list[str]:
    """Values valid alone that cannot work: each message names the key. In development an
    empty bucket name is taken from the AWS emulator (local_aws); production names each."""
    problems = []
    if production:
        problems += [f"plugins.video.{key}: empty; name the S3 bucket"
                     for key in ("raw_bucket", "processed_bucket", "thumbnails_bucket")
                     if not getattr(settings, key).strip()]
    for key in ("upload_url_ttl_seconds", "playback_url_ttl_seconds", "cache_ttl_seconds",
                "cache_invalidation_hold_seconds", "max_video_bytes", "max_thumbnail_bytes"):
        if getattr(settings, key) <= 0:
            problems.append(f"plugins.video.{key}: must be positive")
    if settings.upload_url_ttl_seconds > S3_MAX_EXPIRES_SECONDS:
        problems.append("plugins.video.upload_url_ttl_seconds: S3 allows at most 7 days")
    problems += media_url_window_problems(settings)
    if settings.playback_url_ttl_seconds <= settings.cache_ttl_seconds:
        problems.append(
            "plugins.video.playback_url_ttl_seconds: must exceed cache_ttl_seconds, or cached "
            "responses would hand out expired playback URLs"
        )
    template_problem = key_template_problem(settings.playback_key_template)
    if template_problem:
        problems.append(f"plugins.video.playback_key_template: {template_problem}")
    if not settings.allowed_video_types:
        problems.append("plugins.video.allowed_video_types: list at least one type")
    if not settings.allowed_image_types:
        problems.append("plugins.video.allowed_image_types: list at least one type")
    return problems


def media_url_window_problems(settings: VideoSettings) -> list[str]:
    """A media URL is signed for TTL + window seconds: the window may not be negative nor
    outlast the TTL, and the sum must stay within what S3 accepts."""
    window, ttl = settings.media_url_window_seconds, settings.playback_url_ttl_seconds
    if window < 0:
        return ["plugins.video.media_url_window_seconds: must not be negative"]
    if window > ttl:
        return ["plugins.video.media_url_window_seconds: must not exceed "
                "playback_url_ttl_seconds"]
    if ttl + window > S3_MAX_EXPIRES_SECONDS:
        return ["plugins.video.playback_url_ttl_seconds: with media_url_window_seconds, "
                "S3 allows at most 7 days"]
    return []


def key_template_problem(template: str) -> str | None:
    """Why `template` cannot make a key from `{key}`, or None. Only the bare `{key}`
    placeholder is allowed: anything else would fail (or go wrong) on every completed video."""
    try:
        fields = [(name, conversion, spec)
                  for _, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:  # an unmatched brace
        return f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}"
    for name, conversion, spec in fields:
        if (name, conversion, spec) != ("key", None, ""):
            shown = name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
            return f"unknown placeholder {{{shown}}}; the only one is {{key}}"
    if not fields:
        return "must contain {key}"
    return None
