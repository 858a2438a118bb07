"""The playlist side of the playback benchmark: the 500-segment playlist stored where itube
reads it (the processed bucket) and where the baseline reads it (Redis), and one cold
rewrite timed in-process."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from typing import Any

import attrs
import boto3
import redis
from botocore.config import Config as BotoConfig
from botocore.credentials import Credentials

from bench.playback_data import MEDIA_PLAYLIST, SEGMENTS, media_playlist
from plugins.video.playback.manifest import Playlist, rewrite
from plugins.video.presign import S3Presigner, bucket_endpoint

PROCESSED_BUCKET = "itube-processed-videos"  # what local_aws provisions by default
PLAYBACK_TTL_SECONDS = 3600  # the default playback_url_ttl_seconds
COLD_REPEATS = 30
SIGNATURE = "X-Amz-Signature="


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id="bench", aws_secret_access_key="bench",
                        config=BotoConfig(signature_version="s3v4"))


def store_playlists(s3: Any, prefixes: Sequence[str], text: str, redis_url: str,
                    redis_key: str) -> None:
    """`text` as the media playlist of each video prefix in the processed bucket, and under
    `redis_key` for the baseline."""
    for prefix in prefixes:
        s3.put_object(Bucket=PROCESSED_BUCKET, Key=f"{prefix}/{MEDIA_PLAYLIST}",
                      Body=text.encode(), ContentType="application/vnd.apple.mpegurl")
    client = redis.Redis.from_url(redis_url)
    try:
        client.set(redis_key, text.encode())
    finally:
        client.close()


def signed_segments(body: str) -> int:
    """How many lines of a rewritten playlist are presigned URLs."""
    return sum(line.count(SIGNATURE) for line in body.splitlines())


@attrs.frozen
class ColdRewrite:
    """One rewrite of the playlist with every URL signed afresh: CPU and wall time (ms,
    medians of COLD_REPEATS), and what it produced."""

    cpu_ms: float
    wall_ms: float
    urls: int
    source_bytes: int
    rewritten_bytes: int


def cold_rewrite(s3: Any, bucket: str, window_seconds: int,
                 repeats: int = COLD_REPEATS) -> ColdRewrite:
    """Rewrite the playlist `repeats` times, each with a fresh presigner (nothing signed in
    its window yet), as the playback service does at a window's first request."""
    text, prefix = media_playlist(), "videos/bench-owner/6f1c1b1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
    endpoint = bucket_endpoint(s3, bucket)
    playlist = Playlist.under(prefix, MEDIA_PLAYLIST)
    cpu, wall, body = [], [], ""
    for _ in range(repeats):
        presigner = S3Presigner(Credentials("bench", "bench"))
        started_cpu, started = time.process_time(), time.perf_counter()
        body = rewrite(text, playlist,
                       presigner.window_signer(endpoint, PLAYBACK_TTL_SECONDS, window_seconds))
        cpu.append(time.process_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    urls = signed_segments(body)
    if urls != SEGMENTS:
        raise RuntimeError(f"the rewrite signed {urls} URLs, not {SEGMENTS}")
    return ColdRewrite(cpu_ms=statistics.median(cpu) * 1e3, wall_ms=statistics.median(wall) * 1e3,
                       urls=urls, source_bytes=len(text.encode()),
                       rewritten_bytes=len(body.encode()))
