"""Settings of the video plugin: `[plugins.video]`."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

import attrs

from core.cache import INVALIDATION_HOLD_SECONDS
from core.config import secret
from core.ratelimit import Limit
from plugins.video.keys import MediaKind
from plugins.video.playback.cdn import CdnKeyError, load_private_key
from plugins.video.search import DEFAULT_SEARCH_CONFIG, is_config_name

GIB = 1024**3
MIB = 1024**2
# The longest X-Amz-Expires S3 accepts on a presigned URL: 7 days.
S3_MAX_EXPIRES_SECONDS = 7 * 24 * 3600
# The most parts of an S3 multipart upload.
MULTIPART_MAX_PARTS = 10_000
# Hosts a CDN base URL may name over plain http (a local stand-in for the CDN).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
# The shortest life of a share link, in seconds.
MIN_SHARE_SECONDS = 60
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
    # Id of the CloudFront public key (in the distribution's trusted key group) that signs
    # CDN URLs; with cdn_private_key, non-public videos get signed URLs under
    # playback_base_url and thumbnail_base_url. "" signs nothing (docs/cdn.md).
    cdn_key_id: str = ""
    # The RSA private key of cdn_key_id, in PEM; give it as env:NAME, never in a file.
    cdn_private_key: str = secret()
    # Sign public videos' CDN URLs too; false leaves them unsigned (URLs that never expire).
    cdn_sign_public: bool = False
    # Serve CloudFront signed cookies for a video's prefix from
    # POST …/{video_id}/playback-cookies (needs cdn_key_id).
    cdn_signed_cookies: bool = False
    # Domain attribute of the signed cookies, a parent of both the API's and the CDN's host
    # (e.g. example.com); "" sets them on the API's host only.
    cdn_cookie_domain: str = ""
    # Key of a completed video's playable output in the processed bucket; {key} is the
    # uploaded key (e.g. "{key}/index.m3u8" for HLS output).
    playback_key_template: str = "{key}"
    # How long an HLS playlist read from the processed bucket is kept in the app's cache, in
    # seconds (a completed video's playlists do not change; a change to the video starts
    # afresh). The playlists rewritten with presigned URLs are kept in each process for the
    # rest of their signing window (media_url_window_seconds).
    playlist_cache_ttl_seconds: float = 3600.0
    # Largest HLS playlist the manifest routes read from the processed bucket, in bytes
    # (a 10,000-segment media playlist is about 1 MiB).
    max_playlist_bytes: int = 2 * MIB
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
    # How long a relevance search's ranked results are kept in the cache, in seconds: its
    # pages read them instead of ranking every match again. Any change of a video through
    # the app drops every kept ranking at once; only rows changed behind its back wait this long.
    search_results_ttl_seconds: float = 60.0
    # The deepest result a relevance search pages to (as Elasticsearch's max_result_window):
    # the ranked results keep this many matches at most, and a cursor beyond them is a 422.
    # Each kept match costs 24 bytes in the cache.
    search_max_results: int = 50_000
    # Matches per cached piece of the ranked results: a page reads a small index of the
    # pieces and the one or two pieces it starts in, not the whole list.
    search_results_block_size: int = 1_000
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
    # Longest life a share link may be given, in seconds (30 days); its `expires_in` is
    # at least 60.
    share_max_expires_seconds: int = 30 * 86_400
    # Most views a share link may be limited to (its `max_views`; none given is no limit).
    share_max_views: int = 1_000_000
    # Most live share links (not expired, revoked or used up) one video may have at once.
    share_max_live_per_video: int = 100
    # Opens of share links (GET /api/v1/shared/{token}) and their playlist requests, per
    # client address, in one budget, like
    # "60/minute", "1000/hour" or "off"; counted in the app's cache (every worker with
    # cache_redis).
    share_rate_limit: str = "60/minute"
    # Public base URL of this API (e.g. https://video.example.com) to make share links
    # absolute; "" answers the path alone.
    share_base_url: str = ""

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
    problems += cdn_problems(settings)
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
    problems += share_problems(settings)
    if settings.search_results_ttl_seconds <= 0:
        problems.append("plugins.video.search_results_ttl_seconds: must be positive")
    problems += [f"plugins.video.{key}: must be 1 or more"
                 for key in ("search_max_results", "search_results_block_size")
                 if getattr(settings, key) < 1]
    if not is_config_name(settings.search_config):
        problems.append("plugins.video.search_config: not a text-search configuration's name "
                        "(such as english or simple)")
    return problems


def share_problems(settings: VideoSettings) -> list[str]:
    """Share-link limits that cannot work, and a base URL that is not one."""
    problems = []
    if settings.share_max_expires_seconds < MIN_SHARE_SECONDS:
        problems.append(f"plugins.video.share_max_expires_seconds: must be at least "
                        f"{MIN_SHARE_SECONDS}")
    problems += [f"plugins.video.{key}: must be 1 or more"
                 for key in ("share_max_views", "share_max_live_per_video")
                 if getattr(settings, key) < 1]
    try:
        Limit.parse(settings.share_rate_limit)
    except ValueError as exc:
        problems.append(f"plugins.video.share_rate_limit: {exc}")
    base = urlsplit(settings.share_base_url)
    if settings.share_base_url and (base.scheme not in ("http", "https") or not base.hostname
                                    or base.query or base.fragment):
        problems.append("plugins.video.share_base_url: expected an http(s):// URL without a "
                        "query, such as https://video.example.com")
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


def cdn_problems(settings: VideoSettings) -> list[str]:
    """Signed CDN settings that cannot work. The key is loaded to be checked; no message
    quotes it."""
    key_id, pem = settings.cdn_key_id.strip(), settings.cdn_private_key.strip()
    problems = [f"plugins.video.{key}: {problem}" for key, url in (
        ("playback_base_url", settings.playback_base_url),
        ("thumbnail_base_url", settings.thumbnail_base_url),
    ) if (problem := cdn_url_problem(url))]
    if bool(key_id) != bool(pem):
        problems.append("plugins.video.cdn_key_id, cdn_private_key: set both, or neither")
    if not key_id:
        problems += [f"plugins.video.{key}: needs cdn_key_id and cdn_private_key"
                     for key in ("cdn_sign_public", "cdn_signed_cookies")
                     if getattr(settings, key)]
        return problems
    if not key_id.isalnum():
        problems.append("plugins.video.cdn_key_id: expected a CloudFront public key id "
                        "(letters and digits, such as K2JCJMDEHXQW5F)")
    if pem:
        try:
            load_private_key(pem)
        except CdnKeyError as exc:
            problems.append(f"plugins.video.cdn_private_key: {exc}")
    if not settings.playback_base_url:
        problems.append("plugins.video.playback_base_url: required with cdn_key_id (the "
                        "CloudFront distribution's URL the signed URLs point at)")
    problems += cookie_domain_problems(settings)
    return problems


def cdn_url_problem(url: str) -> str | None:
    """Why `url` cannot be a CDN base URL, or None: https, or http on this machine only."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and parts.hostname in LOCAL_HOSTS:
        return None
    return "expected an https:// URL (http:// only for localhost)"


def cookie_domain_problems(settings: VideoSettings) -> list[str]:
    """Signed cookies reach the CDN only if their domain covers its host."""
    domain = settings.cdn_cookie_domain.strip().lstrip(".").lower()
    host = (urlsplit(settings.playback_base_url).hostname or "").lower()
    if not domain or not host or host == domain or host.endswith(f".{domain}"):
        return []
    return [f"plugins.video.cdn_cookie_domain: playback_base_url's host {host} is not "
            f"{domain} nor under it, so browsers would not send the cookies to the CDN"]


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
