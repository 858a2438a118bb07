"""The example transcoder publishes a real HLS ladder and reports it: ffmpeg's when the
upload is media ffmpeg decodes, else the repository's fixture ladder."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from plugins.video.transcoder import FIXTURE_LADDER, TranscoderExample
from tests.video import workflow
from tests.video.playback.support import ALICE, MANIFEST, PROCESSED
from tests.video.playback.test_playlists import _play
from tests.video.support import TRANSCODER

HAS_FFMPEG = shutil.which("ffmpeg") is not None


class ServiceHeaders(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers.update(TRANSCODER.headers)
        yield request


def _transcode(client: Any, s3: Any, content: bytes) -> tuple[dict[str, Any], list[str]]:
    """Upload `content`, register it, run one upload event through the example."""
    key = workflow.upload(client, ALICE, content)
    video_id = workflow.register(client, ALICE, key, visibility="PRIVATE").json()["id"]
    out: list[str] = []
    example = TranscoderExample(client, None, "", auth=ServiceHeaders(), s3=s3,
                                processed_bucket=PROCESSED, out=out.append)
    outcome = example.handle_record({"s3": {"bucket": {"name": "itube-raw-videos"},
                                            "object": {"key": key, "size": len(content)}}})
    assert outcome == "completed", out
    return workflow.get_video(client, ALICE, video_id).json(), out


def _test_pattern(tmp_path: Path, seconds: int) -> bytes:
    source = tmp_path / "pattern.mp4"
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-f", "lavfi",
                    "-i", f"testsrc=duration={seconds}:size=640x360:rate=24", "-c:v",
                    "libx264", "-pix_fmt", "yuv420p", str(source)], check=True, timeout=60)
    return source.read_bytes()


def test_an_upload_that_is_not_media_gets_the_fixture_ladder(client, s3):
    video, _ = _transcode(client, s3, workflow.SAMPLE_VIDEO)
    assert video["playback_url"] == MANIFEST.format(video["id"])
    assert video["duration_seconds"] == 4.0
    assert [r["kind"] for r in video["renditions"]] == ["hls", "poster"]
    assert httpx.get(video["thumbnail_url"], timeout=10).content == \
        (FIXTURE_LADDER / "poster.jpg").read_bytes()
    fetched = _play(client, video["id"])
    assert fetched == {path.relative_to(FIXTURE_LADDER).as_posix(): path.read_bytes()
                       for path in FIXTURE_LADDER.rglob("*.ts")}


def test_without_ffmpeg_the_fixture_ladder_is_published(client, s3, monkeypatch):
    monkeypatch.setenv("PATH", "")
    video, _ = _transcode(client, s3, workflow.SAMPLE_VIDEO)
    assert video["duration_seconds"] == 4.0
    assert len(_play(client, video["id"])) == 4


@pytest.mark.skipif(not HAS_FFMPEG, reason="ffmpeg is not installed (make browser-ready)")
def test_a_real_video_gets_ffmpegs_ladder(client, s3, tmp_path):
    content = _test_pattern(tmp_path, 6)
    video, _ = _transcode(client, s3, content)
    assert video["duration_seconds"] == pytest.approx(6.0, abs=0.1)
    hls = video["renditions"][0]
    assert (hls["kind"], hls["width"], hls["height"]) == ("hls", 320, 180)
    fetched = _play(client, video["id"])
    # two renditions of three 2-second segments, none of them the fixture's
    assert sorted(fetched) == [f"v{n}/segment_{s:03d}.ts" for n in (0, 1) for s in range(3)]
    fixture = {path.read_bytes() for path in FIXTURE_LADDER.rglob("*.ts")}
    assert not fixture & set(fetched.values())
    assert all(segment[:1] == b"\x47" for segment in fetched.values())  # MPEG-TS sync byte
