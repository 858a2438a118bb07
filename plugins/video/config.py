"""Settings of the video plugin: `[plugins.video]`."""

from __future__ import annotations

import string

import attrs

from core.cache import INVALIDATION_HOLD_SECONDS
from plugins.video.keys import MediaKind
from plugins.video.search import DEFAULT_SEARCH_CONFIG, is_config_name

GIB = 1024**3
MIB = 1024**2
# The longest X-Amz-Expires S3 accepts on a presigned URL: 7 days.
S3_MAX_EXPIRES_SECONDS = 7 * 24 * 3600
# The most parts of an S3 multipart upload.
MULTIPART_MAX_PARTS = 10_000
# The per-user limits, each 0 for none.
QUOTA_KEYS = ("quota_bytes_per_user", "quota_videos_per_user", "quota_upload_urls_per_hour")

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
    # Part URLs a multipart upload hands out at a time (at its start, when resumed, and
    # the most one request for part URLs may ask for).
    multipart_url_batch: int = 100
    # How long a multipart upload may take, in seconds, from its start to its completion;
    # after this it is refused and left to the janitor (keep orphan_upload_seconds above it).
    multipart_expiry_seconds: int = 86_400
    # How long a video and the first page of the public list stay cached, in seconds.
    cache_ttl_seconds: int = 60
    # After a change, reads of that video bypass the cache this long, so a load that
    # started before the change cannot store what it read; keep it above the slowest query.
    cache_invalidation_hold_seconds: float = INVALIDATION_HOLD_SECONDS
    # How often the app's deletion worker looks for deleted videos' S3 objects to remove,
    # in seconds; 0 runs no worker in the app (run `itube videos purge` on a schedule).
    deletion_poll_seconds: float = 30.0
    # How long a worker holds a deletion job it claimed; a worker that dies leaves it to
    # be claimed again after this. Keep it above the slowest job's S3 calls.
    deletion_lease_seconds: float = 300.0
    # Most bytes one user may store, summed over their videos' sizes; 0 means no limit.
    # Checked against the declared size at upload-url time and the real size at metadata.
    quota_bytes_per_user: int = 0
    # Most videos one user may have registered (deleted ones no longer count); 0: no limit.
    quota_videos_per_user: int = 0
    # Most upload URLs (videos and thumbnails together) one user may get per hour, counted
    # in the app's cache (shared by every worker with cache_redis); 0 means no limit.
    quota_upload_urls_per_hour: int = 0
    # PostgreSQL's text-search configuration for `?q=` (stemming and stop words: "english",
    # none: "simple"; any in pg_ts_config). The search column is built with it: after a
    # change, run `itube videos reindex-search` (start-up refuses a mismatch). SQLite
    # always stems English words.
    search_config: str = DEFAULT_SEARCH_CONFIG
    # Count views of a video (a successful get by anyone but its owner) into view_count.
    count_views: bool = True
    # A viewer's views of one video count once per window of this many seconds, remembered
    # in the app's cache (shared by every worker with cache_redis).
    view_window_seconds: float = 1800.0
    # How often each process adds the views it counted to the database, in seconds; a
    # crashed process loses at most this long's views, and counts show this much later.
    view_flush_seconds: float = 10.0
    # An upload older than this, in seconds, that no video refers to is removed by the
    # janitor: objects under videos/ and thumbnails/ without metadata, and multipart uploads
    # never completed. Keep it above upload_url_ttl_seconds and the longest resumable upload.
    orphan_upload_seconds: int = 86_400
    # How often the app's janitor sweeps, in seconds; 0 runs none in the app (run
    # `itube videos janitor --once` on a schedule instead).
    janitor_interval_seconds: float = 3600.0
    # How often a live event stream (GET …/events) sends a heartbeat comment while nothing
    # happens, in seconds; keep it below the idle timeout of every proxy on the way.
    live_heartbeat_seconds: float = 15.0
    # Most live event streams one user may hold open at once, counted in the app's cache
    # (across every worker with cache_redis); one more is a 429 until one closes.
    live_max_streams_per_user: int = 5
    # How long a transcoder's lease on a video lasts from its claim or its last heartbeat,
    # in seconds; a lease that ends unreported releases the video for another claim.
    lease_seconds: float = 300.0
    # Leases that may end unreported before the video is FAILED (code lease_expired).
    lease_max_attempts: int = 3
    # How often the app ends expired leases, in seconds (every worker may: each end is a
    # compare-and-set); 0 runs no sweep (a new claim still ends an expired lease).
    lease_sweep_seconds: float = 15.0

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
                "cache_invalidation_hold_seconds", "max_video_bytes", "max_thumbnail_bytes",
                "deletion_lease_seconds", "view_window_seconds", "view_flush_seconds",
                "multipart_url_batch", "multipart_expiry_seconds"):
        if getattr(settings, key) <= 0:
            problems.append(f"plugins.video.{key}: must be positive")
    if settings.deletion_poll_seconds < 0:
        problems.append("plugins.video.deletion_poll_seconds: must not be negative")
    if settings.multipart_url_batch > MULTIPART_MAX_PARTS:
        problems.append(f"plugins.video.multipart_url_batch: at most {MULTIPART_MAX_PARTS} "
                        "(S3's most parts)")
    if settings.multipart_expiry_seconds > settings.orphan_upload_seconds:
        problems.append("plugins.video.multipart_expiry_seconds: must not exceed "
                        "orphan_upload_seconds, or the janitor would remove uploads in progress")
    if settings.live_heartbeat_seconds <= 0:
        problems.append("plugins.video.live_heartbeat_seconds: must be positive")
    if settings.live_max_streams_per_user < 1:
        problems.append("plugins.video.live_max_streams_per_user: must be 1 or more")
    if settings.lease_seconds <= 0:
        problems.append("plugins.video.lease_seconds: must be positive")
    if settings.lease_max_attempts < 1:
        problems.append("plugins.video.lease_max_attempts: must be 1 or more")
    if settings.lease_sweep_seconds < 0:
        problems.append("plugins.video.lease_sweep_seconds: must not be negative")
    if settings.janitor_interval_seconds < 0:
        problems.append("plugins.video.janitor_interval_seconds: must not be negative")
    if settings.orphan_upload_seconds <= settings.upload_url_ttl_seconds:
        problems.append(
            "plugins.video.orphan_upload_seconds: must exceed upload_url_ttl_seconds, so an "
            "upload has time to get its metadata before the janitor removes it"
        )
    problems += [f"plugins.video.{key}: must not be negative (0 means no limit)"
                 for key in QUOTA_KEYS if getattr(settings, key) < 0]
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
    if not is_config_name(settings.search_config):
        problems.append("plugins.video.search_config: not a text-search configuration's name "
                        "(such as english or simple)")
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
