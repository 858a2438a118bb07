"""A client's own part size, over HTTP on both databases against the S3 emulator: the
answer, the parts' URLs, a resume and a completion follow it; a size S3 would refuse is a
422 naming `part_size` with the range allowed."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.video.support import problem_fields
from tests.video.test_multipart import (
    MIB,
    _bucket,
    _by_number,
    _complete,
    _create,
    _created,
    _ledger,
    _put,
    _status,
)

GIB = 1024**3
CHOSEN = 5 * MIB
FIRST, SECOND = b"a" * CHOSEN, b"b" * CHOSEN
LAST = b"the rest"
SIZE = len(FIRST) + len(SECOND) + len(LAST)


def test_a_chosen_part_size_cuts_the_upload_and_signs_each_parts_length(client):
    upload = _created(client, size_bytes=SIZE, part_size=CHOSEN)
    assert (upload["part_size"], upload["part_count"]) == (CHOSEN, 3)
    assert [part["number"] for part in upload["parts"]] == [1, 2, 3]
    lengths = [part["headers"]["Content-Length"] for part in upload["parts"]]
    assert lengths == [str(CHOSEN), str(CHOSEN), str(len(LAST))]
    numbers = [parse_qs(urlsplit(part["url"]).query)["partNumber"] for part in upload["parts"]]
    assert numbers == [["1"], ["2"], ["3"]]
    assert _ledger(client, upload["upload_id"])["part_size"] == CHOSEN
    # the same size without a choice: parts of 8 MiB
    default = _created(client, size_bytes=SIZE)
    assert (default["part_size"], default["part_count"]) == (8 * MIB, 2)
    unset = _created(client, size_bytes=SIZE, part_size=None)
    assert (unset["part_size"], unset["part_count"]) == (8 * MIB, 2)


def test_an_upload_in_chosen_parts_resumes_and_completes(client, s3):
    upload = _created(client, size_bytes=SIZE, part_size=CHOSEN)
    parts = _by_number(upload["parts"])
    assert _put(parts[1], FIRST).status_code == 200
    resumed = _status(client, upload["upload_id"])
    assert resumed.status_code == 200, resumed.text
    seen = resumed.json()
    assert (seen["part_size"], seen["part_count"]) == (CHOSEN, 3)
    assert [part["number"] for part in seen["uploaded"]] == [1]
    assert [part["size_bytes"] for part in seen["uploaded"]] == [CHOSEN]
    missing = _by_number(seen["parts"])
    assert sorted(missing) == [2, 3]
    assert missing[3]["headers"] == {"Content-Length": str(len(LAST))}
    assert _put(missing[2], SECOND).status_code == 200
    assert _put(missing[3], LAST).status_code == 200
    done = _complete(client, upload["upload_id"])
    assert done.status_code == 200, done.text
    assert done.json()["size_bytes"] == SIZE
    stored = s3.get_object(Bucket=_bucket(upload["parts"][0]), Key=upload["s3_key"])
    assert stored["Body"].read() == FIRST + SECOND + LAST


def test_the_largest_part_size_and_the_fewest_parts_are_allowed(make_video_client):
    client = make_video_client(settings={"max_video_bytes": 5 * 1024**4})
    whole = _created(client, size_bytes=5 * GIB, part_size=5 * GIB)
    assert (whole["part_size"], whole["part_count"]) == (5 * GIB, 1)
    # 100 GiB in 10,000 parts or fewer takes parts of at least 10.24 MiB: 11 MiB
    tight = _created(client, size_bytes=100 * GIB, part_size=11 * MIB)
    assert (tight["part_size"], tight["part_count"]) == (11 * MIB, 9310)
    assert len(tight["parts"]) == 100


@pytest.mark.parametrize(("size", "part_size", "allowed"), [
    (SIZE, CHOSEN + 1, "from 5242880 to 5368709120 bytes (5 to 5120 MiB)"),
    (SIZE, 4 * MIB, "(5 to 5120 MiB)"),
    (SIZE, 0, "(5 to 5120 MiB)"),
    (SIZE, -CHOSEN, "(5 to 5120 MiB)"),
    (SIZE, 6 * GIB, "(5 to 5120 MiB)"),
    (100 * GIB, 10 * MIB, "from 11534336 to 5368709120 bytes (11 to 5120 MiB)"),
])
def test_a_part_size_s3_would_refuse_is_a_422_naming_the_range(make_video_client, size,
                                                               part_size, allowed):
    client = make_video_client(settings={"max_video_bytes": 5 * 1024**4})
    refused = _create(client, size_bytes=size, part_size=part_size)
    assert problem_fields(refused) == ["part_size"]
    assert allowed in refused.json()["errors"][0]["message"]
    assert "10,000 parts" in refused.json()["errors"][0]["message"]


@pytest.mark.parametrize("part_size", ["5242880", 5.5 * MIB, [CHOSEN]])
def test_a_part_size_that_is_not_a_whole_number_is_a_422(client, part_size):
    assert problem_fields(_create(client, size_bytes=SIZE, part_size=part_size)) == ["part_size"]


def test_the_document_publishes_the_part_size_and_its_limits(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    field = schemas["CreateMultipartUploadRequest"]["properties"]["part_size"]
    assert (field["minimum"], field["maximum"], field["multipleOf"]) == (CHOSEN, 5 * GIB, MIB)
    assert "10,000 parts" in field["description"]
    assert "part_size" not in schemas["CreateMultipartUploadRequest"].get("required", [])
