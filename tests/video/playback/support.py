"""What the playback tests share: a registered video, its reported outputs, the ladder."""

from __future__ import annotations

from typing import Any

from plugins.video.transcoder import CONTENT_TYPES, FIXTURE_LADDER
from tests.video import workflow
from tests.video.support import TRANSCODER, user
from tests.video.transcoding import report

ALICE, BOB = user("alice"), user("bob")
PROCESSED = "itube-processed-videos"
MANIFEST = "/api/v1/upload/videos/{}/playback.m3u8"


def registered(client: Any, visibility: str = "PRIVATE", **fields: Any) -> tuple[str, str]:
    """A video of alice's, IN_PROGRESS: its id and key."""
    key = workflow.upload(client, ALICE)
    answer = workflow.register(client, ALICE, key, visibility=visibility, **fields)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], key


def ladder_outputs(key: str) -> list[dict[str, Any]]:
    return [
        {"kind": "hls", "key": f"{key}/hls/master.m3u8", "width": 320, "height": 180,
         "bitrate": 200_000, "codecs": "avc1.42c01e"},
        {"kind": "mp4", "key": f"{key}/mp4/320.mp4", "width": 320, "height": 180},
        {"kind": "poster", "key": f"{key}/hls/poster.jpg"},
    ]


def publish_fixture_ladder(s3: Any, key: str) -> None:
    """The repository's ladder under `<key>/hls/` in the processed bucket."""
    for path in sorted(FIXTURE_LADDER.rglob("*")):
        if path.is_file():
            s3.put_object(Bucket=PROCESSED,
                          Key=f"{key}/hls/{path.relative_to(FIXTURE_LADDER).as_posix()}",
                          Body=path.read_bytes(), ContentType=CONTENT_TYPES[path.suffix])


def completed_with_ladder(client: Any, s3: Any, visibility: str = "PRIVATE",
                          **fields: Any) -> tuple[str, str]:
    """A completed video of alice's whose fixture ladder is published and reported."""
    video_id, key = registered(client, visibility, **fields)
    publish_fixture_ladder(s3, key)
    answer = report(client, video_id, {"status": "COMPLETED", "duration_seconds": 4.0,
                                       "outputs": ladder_outputs(key)})
    assert answer.status_code == 200, answer.text
    return video_id, key


__all__ = ["ALICE", "BOB", "TRANSCODER"]
