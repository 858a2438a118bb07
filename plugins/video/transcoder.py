"""`itube transcoder-example`: a minimal transcoder driving the signed internal API.

It reads the queue of raw-bucket ObjectCreated events, looks each upload's video up by
its S3 key, "transcodes" it, and reports COMPLETED with its outputs (or FAILED with a
reason: an empty object, or one that does not match the checksum recorded with its video).
Transcoding copies the object to the processed bucket under the same key (where the
playback URL of a video without outputs points) and publishes a small HLS ladder under
`<key>/hls/`: two H.264 renditions (320x180, 160x90, 2-second segments) and a poster made
by ffmpeg when it is on PATH and decodes the upload, else the ladder kept in
`transcoder_fixture/` (a few seconds of ffmpeg's test pattern), so the path is exercised
whatever was uploaded. When the video has
a checksum, the object is read with S3's checksum mode on, so boto3 checks every byte: a
whole object at once, one uploaded in parts (a composite checksum, "<base64>-<parts>") part
by part, each against its own checksum. An upload whose metadata is not saved yet (404) is
left on the queue and retried later. It signs its requests with whichever service-auth
strategy the config loads (`service_client_auth`), so it shows how a service calls the
internal routes.

It follows the transcoder contract v2 (docs/video.md): it claims a lease on the video
before working (a 409 means another transcoder holds it, or it is no longer IN_PROGRESS),
reports progress by stage, heartbeats when the work outlasts half the lease, sends the
lease's token with every report, and gives each failure its code. Against an API without
leases (the claim route answers 404 or 405) it reports as the seed did.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus

import httpx
from botocore.exceptions import FlexibleChecksumError

VIDEOS = "/api/v1/upload/videos"
TEST_EVENT = "s3:TestEvent"
EMPTY_UPLOAD = "the uploaded object is empty (0 bytes)"
CHECKSUM_MISMATCH = "the uploaded object does not match its recorded checksum"
READ_CHUNK_BYTES = 1024 * 1024
LEASE_HEADER = "Lease-Token"
# The ladder: each rendition's width, height and bitrate (bits per second).
LADDER = ((320, 180, 200_000), (160, 90, 80_000))
# H.264 Constrained Baseline, level 3.0, as HLS's CODECS attribute names it.
LADDER_CODECS = "avc1.42c01e"
SEGMENT_SECONDS = 2
# The ladder published when ffmpeg cannot make one (its layout is ffmpeg's, as below).
FIXTURE_LADDER = Path(__file__).with_name("transcoder_fixture")
FFMPEG_TIMEOUT_SECONDS = 300
CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                 ".jpg": "image/jpeg"}
# The code each failure is reported with, beside its reason.
FAILURE_CODES = {EMPTY_UPLOAD: "empty_upload", CHECKSUM_MISMATCH: "checksum_mismatch"}


class LeaseLost(Exception):
    """The API refused a report made under the lease (it ended or was taken over)."""


class Lease:
    """A lease the example holds on one video, renewed once half of it has passed."""

    def __init__(self, video_id: str, token: str | None, seconds: float) -> None:
        self.video_id = video_id
        self.token = token
        self.seconds = seconds
        self.renew_at = time.monotonic() + seconds / 2

    @classmethod
    def none(cls, video_id: str) -> Lease:
        """What an API without leases gets: reports carry no token, nothing to renew."""
        return cls(video_id, None, float("inf"))

    def headers(self) -> dict[str, str]:
        return {LEASE_HEADER: self.token} if self.token else {}


class TranscoderExample:
    """Consumes upload events and reports each video's status through the signed API."""

    def __init__(
        self,
        api: httpx.Client,
        sqs: Any,
        queue_url: str,
        *,
        auth: httpx.Auth | None = None,
        visibility_timeout: int = 10,
        out: Callable[[str], None] = print,
        s3: Any = None,
        processed_bucket: str = "",
    ) -> None:
        self.api = api
        self.s3 = s3
        self.processed_bucket = processed_bucket
        self.sqs = sqs
        self.queue_url = queue_url
        self.auth = auth
        self.visibility_timeout = visibility_timeout
        self.out = out
        self.outcomes: Counter[str] = Counter()
        # Keys reported in this run. An S3 key holds one object for good (upload URLs write
        # once), so an event repeating a reported key (S3 delivers at least once) adds
        # nothing; sending its identically signed report again would be a replay.
        self.reported: set[str] = set()
        # The lease on the video being worked on.
        self.lease = Lease.none("")

    def drain(self, wait_seconds: int = 1) -> Counter[str]:
        """Handle what the queue holds now, then return the outcome counts. Stops at an
        empty receive, or when only messages already handled in this drain come back."""
        seen: set[str] = set()
        while True:
            ids = self.poll(wait_seconds, skip=seen)
            if not ids or ids <= seen:
                return self.outcomes
            seen |= ids

    def run_forever(self, wait_seconds: int = 20) -> None:
        while True:
            self.poll(wait_seconds)

    def poll(self, wait_seconds: int, skip: frozenset[str] | set[str] = frozenset()
             ) -> set[str]:
        """One receive; returns the ids of the messages that arrived. Messages in `skip`
        (already handled in this drain) are left for a later run."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            VisibilityTimeout=self.visibility_timeout,
        ).get("Messages", [])
        for message in messages:
            if message["MessageId"] in skip:
                continue
            if self.handle_message(message):
                self.sqs.delete_message(QueueUrl=self.queue_url,
                                        ReceiptHandle=message["ReceiptHandle"])
        return {message["MessageId"] for message in messages}

    def handle_message(self, message: dict[str, Any]) -> bool:
        """True when the message is done with (delete it), False to see it again later."""
        try:
            event = json.loads(message["Body"])
        except (ValueError, KeyError):
            self._note("skipped", "a message that is not an S3 event")
            return True
        if event.get("Event") == TEST_EVENT:
            self._note("skipped", "the queue's s3:TestEvent")
            return True
        outcomes = [self.handle_record(record) for record in event.get("Records", [])]
        return all(outcome not in {"waiting", "error"} for outcome in outcomes)

    def handle_record(self, record: dict[str, Any]) -> str:
        obj = record.get("s3", {}).get("object", {})
        key = unquote_plus(obj.get("key", ""))
        if key in self.reported:
            return self._note("skipped", f"{key}: already reported")
        found = self.api.get(f"{VIDEOS}/by-key/{quote(key, safe='/')}", auth=self._auth())
        if found.status_code == 404:
            return self._note("waiting", f"{key}: no metadata saved yet, will retry")
        if found.status_code != 200:
            return self._note("error", f"{key}: lookup answered {_problem(found)}")
        video_id, checksum = found.json()["video_id"], found.json().get("checksum")
        bucket = record.get("s3", {}).get("bucket", {}).get("name", "")
        claimed = self.api.post(f"{VIDEOS}/{video_id}/lease", auth=self._auth())
        if claimed.status_code == 409:
            self.reported.add(key)
            return self._note("conflict", f"{key}: {_problem(claimed)}")
        if claimed.status_code in (404, 405):
            self.lease = Lease.none(video_id)
        elif claimed.status_code != 201:
            return self._note("error", f"{key}: lease claim answered {_problem(claimed)}")
        else:
            self.lease = _lease_of(video_id, claimed.json())
        try:
            update = self.process(bucket, key, obj.get("size"), checksum)
        except LeaseLost as lost:
            self.reported.add(key)
            return self._note("conflict", f"{key}: {lost}")
        reported = self.api.patch(f"{VIDEOS}/{video_id}/status", json=update,
                                  headers=self.lease.headers(), auth=self._auth())
        if reported.status_code == 409:
            self.reported.add(key)
            return self._note("conflict", f"{key}: {_problem(reported)}")
        if reported.status_code != 200:
            return self._note("error", f"{key}: status report answered {_problem(reported)}")
        self.reported.add(key)
        status = update["status"]
        return self._note(status.lower(), f"{key}: video {video_id} is {status}")

    def process(self, bucket: str, key: str, size: int | None,
                checksum: dict[str, str] | None) -> dict[str, Any]:
        """Check, then "transcode", reporting progress by stage; the final report's body."""
        self.report_progress("checking", 0)
        if size == 0:
            return _failed(EMPTY_UPLOAD)
        if checksum and not self.matches_checksum(bucket, key, checksum["value"]):
            return _failed(CHECKSUM_MISMATCH)
        self.report_progress("checking", 100)
        self.report_progress("transcoding", 0)
        published = self.publish(bucket, key)
        self.report_progress("transcoding", 100)
        return {"status": "COMPLETED", **published}

    def report_progress(self, stage: str, progress: int) -> None:
        """One progress report under the lease; a refusal (409) means the lease is lost.
        Other faults are only progress missed: the work goes on."""
        body = {"status": "IN_PROGRESS", "progress": progress, "stage": stage}
        answer = self.api.patch(f"{VIDEOS}/{self.lease.video_id}/status", json=body,
                                headers=self.lease.headers(), auth=self._auth())
        if answer.status_code == 409:
            raise LeaseLost(_problem(answer))

    def keep_lease(self) -> None:
        """Heartbeat once half the lease has passed since the claim or the last one."""
        lease = self.lease
        if lease.token is None or time.monotonic() < lease.renew_at:
            return
        answer = self.api.post(f"{VIDEOS}/{lease.video_id}/lease/heartbeat",
                               headers=lease.headers(), auth=self._auth())
        if answer.status_code == 409:
            raise LeaseLost(_problem(answer))
        lease.renew_at = time.monotonic() + lease.seconds / 2

    def matches_checksum(self, bucket: str, key: str, recorded: str) -> bool:
        """Read the object with checksum mode on (boto3 raises when a body differs from the
        checksum S3 sends with it); an object from N parts is read part by part."""
        if self.s3 is None or not bucket:
            return True
        _, _, parts = recorded.rpartition("-")
        numbers = range(1, int(parts) + 1) if "-" in recorded and parts.isdigit() else [None]
        try:
            for number in numbers:
                extra = {"PartNumber": number} if number is not None else {}
                body = self.s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED",
                                          **extra)["Body"]
                for _ in body.iter_chunks(READ_CHUNK_BYTES):
                    self.keep_lease()
        except FlexibleChecksumError:
            return False
        return True

    def publish(self, raw_bucket: str, key: str) -> dict[str, Any]:
        """The upload copied as it is, and an HLS ladder under `<key>/hls/`: what the
        COMPLETED report adds (`outputs`, `duration_seconds`); nothing without S3."""
        if self.s3 is None or not self.processed_bucket or not raw_bucket:
            return {}
        self.s3.copy_object(Bucket=self.processed_bucket, Key=key,
                            CopySource={"Bucket": raw_bucket, "Key": key})
        prefix = f"{key}/hls"
        with tempfile.TemporaryDirectory() as work:
            ladder = self.make_ladder(raw_bucket, key, Path(work))
            for path in sorted(ladder.rglob("*")):
                if path.is_file():
                    self.keep_lease()
                    self.s3.upload_file(str(path), self.processed_bucket,
                                        f"{prefix}/{path.relative_to(ladder).as_posix()}",
                                        ExtraArgs={"ContentType": CONTENT_TYPES.get(
                                            path.suffix, "application/octet-stream")})
            seconds = playlist_seconds((ladder / "v0" / "index.m3u8").read_text("utf-8"))
        return {"outputs": ladder_outputs(prefix), "duration_seconds": seconds}

    def make_ladder(self, raw_bucket: str, key: str, work: Path) -> Path:
        """The directory holding the ladder of the upload: ffmpeg's, or the fixture's."""
        if shutil.which("ffmpeg") is None:
            return FIXTURE_LADDER
        source, out = work / "source", work / "ladder"
        self.s3.download_file(raw_bucket, key, str(source))
        self.keep_lease()
        return out if encode_ladder(source, out) else FIXTURE_LADDER

    def _auth(self) -> Any:
        return self.auth if self.auth is not None else httpx.USE_CLIENT_DEFAULT

    def _note(self, outcome: str, text: str) -> str:
        self.outcomes[outcome] += 1
        self.out(f"{outcome:>9}  {text}")
        return outcome


def encode_ladder(source: Path, out: Path) -> bool:
    """LADDER's renditions of `source` as HLS (master.m3u8, v<n>/index.m3u8 and segments)
    and poster.jpg in `out`; False when ffmpeg cannot decode `source`."""
    count = len(LADDER)
    split = "".join(f"[s{n}]" for n in range(count))
    scales = ";".join(f"[s{n}]scale={width}:{height}[v{n}]"
                      for n, (width, height, _) in enumerate(LADDER))
    command = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
               "-i", str(source), "-filter_complex", f"[0:v]split={count}{split};{scales}"]
    for n, (_, _, bitrate) in enumerate(LADDER):
        command += ["-map", f"[v{n}]", f"-b:v:{n}", str(bitrate)]
    command += [
        "-an", "-c:v", "libx264", "-profile:v", "baseline", "-level", "3.0",
        "-pix_fmt", "yuv420p", "-force_key_frames", f"expr:gte(t,n_forced*{SEGMENT_SECONDS})",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_segment_filename", str(out / "v%v" / "segment_%03d.ts"),
        "-master_pl_name", "master.m3u8",
        "-var_stream_map", " ".join(f"v:{n}" for n in range(count)),
        str(out / "v%v" / "index.m3u8"),
    ]
    width, height, _ = LADDER[0]
    poster = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
              "-i", str(source), "-frames:v", "1", "-vf", f"scale={width}:{height}",
              str(out / "poster.jpg")]
    try:
        for step in (command, poster):
            subprocess.run(step, check=True, capture_output=True,
                           timeout=FFMPEG_TIMEOUT_SECONDS)
    except (OSError, subprocess.SubprocessError):
        return False
    return (out / "master.m3u8").is_file()


def ladder_outputs(prefix: str) -> list[dict[str, Any]]:
    """The outputs a ladder published under `prefix` is reported as."""
    width, height, bitrate = LADDER[0]
    return [
        {"kind": "hls", "key": f"{prefix}/master.m3u8", "width": width, "height": height,
         "bitrate": bitrate, "codecs": LADDER_CODECS},
        {"kind": "poster", "key": f"{prefix}/poster.jpg", "width": width, "height": height},
    ]


def playlist_seconds(media_playlist: str) -> float:
    """A media playlist's length: the sum of its segments' EXTINF durations."""
    return round(sum(float(line.removeprefix("#EXTINF:").partition(",")[0])
                     for line in media_playlist.splitlines()
                     if line.startswith("#EXTINF:")), 3)


def _failed(reason: str) -> dict[str, Any]:
    return {"status": "FAILED", "failure_reason": reason, "failure_code": FAILURE_CODES[reason]}


def _lease_of(video_id: str, claimed: dict[str, Any]) -> Lease:
    """The claimed lease, its length read from its end by the local clock (near enough to
    the API's for renewing at half)."""
    expires_at = dt.datetime.fromisoformat(claimed["expires_at"])
    seconds = max((expires_at - dt.datetime.now(dt.UTC)).total_seconds(), 1.0)
    return Lease(video_id, claimed["lease_token"], seconds)


def _problem(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail", "")
    except ValueError:
        detail = ""
    return f"{response.status_code} {detail}".strip()
