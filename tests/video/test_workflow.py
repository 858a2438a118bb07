"""The whole workflow over HTTP against the moto server, on both databases."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from plugins.video.deletion.worker import deletions
from tests.video import workflow
from tests.video.support import TRANSCODER, run_in_app, user

ALICE = user("alice")


@pytest.mark.parametrize("form", ["query", "json"])
def test_full_workflow(client, s3, form):
    seen = workflow.run_workflow(client, ALICE, TRANSCODER, form=form)
    assert seen["user_id"] == "alice"
    assert seen["title"] == "End to end"
    # The playback URL is a working presigned GET on the processed bucket.
    s3.put_object(Bucket="itube-processed-videos", Key=seen["video_s3_key"], Body=b"playable")
    assert httpx.get(seen["playback_url"], timeout=10).content == b"playable"
    # Deleted: gone from every read at once, its objects once the worker has run.
    workflow.delete_and_forget(client, ALICE, TRANSCODER, seen)
    run_in_app(client, lambda: deletions(client.app.state.ctx).worker.run_due())
    # (the app's own worker may have claimed the job first: then it is finishing it)
    deadline = time.monotonic() + 10
    while _processed(s3, seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processed(s3, seen)
    assert httpx.get(seen["playback_url"], timeout=10).status_code == 404


def _processed(s3: Any, video: dict[str, Any]) -> bool:
    """Whether anything of the video is left in the processed bucket."""
    listed = s3.list_objects_v2(Bucket="itube-processed-videos", Prefix=video["video_s3_key"])
    return "Contents" in listed
