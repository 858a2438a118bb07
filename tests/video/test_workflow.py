"""The whole workflow over HTTP against the moto server, on both databases."""

from __future__ import annotations

import httpx
import pytest

from tests.video import workflow
from tests.video.support import TRANSCODER, user

ALICE = user("alice")


@pytest.mark.parametrize("form", ["query", "json"])
def test_full_workflow(client, s3, form):
    seen = workflow.run_workflow(client, ALICE, TRANSCODER, form=form)
    assert seen["user_id"] == "alice"
    assert seen["title"] == "End to end"
    # The playback URL is a working presigned GET on the processed bucket.
    s3.put_object(Bucket="itube-processed-videos", Key=seen["video_s3_key"], Body=b"playable")
    assert httpx.get(seen["playback_url"], timeout=10).content == b"playable"
