"""The data of the playback benchmark: completed private videos with and without six
renditions (rows for COPY, their `outputs` column as the status route stores it), and a
media playlist of many segments."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Iterator, Sequence

import asyncpg
import attrs
import orjson

from bench.seeding import COLUMNS
from plugins.video.models import OutputKind, OutputReport
from plugins.video.playback.outputs import outputs_json

OUTPUT_COLUMNS = [*COLUMNS, "outputs"]
SEGMENTS = 500
SEGMENT_SECONDS = 4.0
# The variant playlist the benchmark serves, after the video's processed prefix.
MEDIA_PLAYLIST = "hls/v0/index.m3u8"
# The four MP4 heights beside the HLS master and the poster: six outputs in all.
MP4_HEIGHTS = (1080, 720, 480, 360)


def video_key(owner: str, video_id: uuid.UUID) -> str:
    """The key an upload URL issues: `videos/{owner}/{uuid}` (also the processed prefix
    under the default `playback_key_template`)."""
    return f"videos/{owner}/{video_id}"


def six_outputs(key: str) -> list[OutputReport]:
    """What a transcoder reports for the video at `key`: an HLS master, four MP4s and a
    poster, every key under the video's processed prefix."""
    mp4s = [OutputReport(kind=OutputKind.MP4, key=f"{key}/mp4/{height}.mp4",
                         width=height * 16 // 9, height=height, bitrate=height * 5000,
                         codecs="avc1.640028,mp4a.40.2")
            for height in MP4_HEIGHTS]
    return [
        OutputReport(kind=OutputKind.HLS, key=f"{key}/hls/master.m3u8", width=1920,
                     height=1080, bitrate=5_400_000, codecs="avc1.640028,mp4a.40.2"),
        *mp4s,
        OutputReport(kind=OutputKind.POSTER, key=f"{key}/hls/poster.jpg"),
    ]


@attrs.frozen
class Owned:
    """Completed videos of one owner, all of one visibility, with six outputs or none;
    `ids[0]` is the newest (the one asked for by id, first on `/mine`)."""

    owner: str
    ids: list[uuid.UUID]
    with_outputs: bool
    visibility: str = "PRIVATE"

    @classmethod
    def new(cls, owner: str, count: int, with_outputs: bool,
            visibility: str = "PRIVATE") -> Owned:
        return cls(owner, [uuid.uuid4() for _ in range(count)], with_outputs, visibility)

    def key_of(self, video_id: uuid.UUID) -> str:
        return video_key(self.owner, video_id)


def video_rows(videos: Owned) -> Iterator[tuple[object, ...]]:
    """Rows of OUTPUT_COLUMNS: completed, no thumbnail of their own (the answer without
    outputs carries one URL, its playback URL), newest first."""
    now = dt.datetime.now(dt.UTC)
    for index, video_id in enumerate(videos.ids):
        key = videos.key_of(video_id)
        created = now - dt.timedelta(seconds=index + 1)
        outputs = outputs_json(six_outputs(key)) if videos.with_outputs else None
        yield (video_id, videos.owner, f"Playback bench {index}", "", videos.visibility,
               "COMPLETED", key, None, 10_000_000, "video/mp4", None, 120.0, created, created,
               1, outputs)


async def _copy(url: str, batches: Sequence[Owned]) -> None:
    connection = await asyncpg.connect(url)
    try:
        for videos in batches:
            await connection.copy_records_to_table(
                "videos", records=video_rows(videos), columns=OUTPUT_COLUMNS)
        await connection.execute("ANALYZE videos")
    finally:
        await connection.close()


def seed(url: str, batches: Sequence[Owned]) -> None:
    """COPY every batch's rows into the database at `url`."""
    asyncio.run(_copy(url, batches))


def media_playlist(segments: int = SEGMENTS) -> str:
    """A VOD media playlist of `segments` segments, named relative to the playlist."""
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{SEGMENT_SECONDS:.0f}",
             "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for number in range(segments):
        lines += [f"#EXTINF:{SEGMENT_SECONDS:.3f},", f"segment_{number:05d}.ts"]
    return "\n".join([*lines, "#EXT-X-ENDLIST", ""])


def renditions_of(answer: bytes) -> int:
    """How many renditions a video answer carries."""
    return len(orjson.loads(answer)["renditions"])
