"""The by-key route writes its answer directly: the same JSON the converter writes."""

from __future__ import annotations

import uuid

import pytest

from core.http import render
from plugins.video.models import ChecksumOut, VideoIdOut
from plugins.video.routes import video_id_json

SHA256 = ChecksumOut("SHA256", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")


@pytest.mark.parametrize("checksum", [None, SHA256])
def test_the_by_key_answer_is_the_converters_json(checksum):
    found = VideoIdOut(video_id=uuid.uuid4(), checksum=checksum)
    assert video_id_json(found) == render(found)
