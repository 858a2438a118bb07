"""Resumable multipart uploads over HTTP, on both databases, against the S3 emulator: start,
upload parts, resume, complete, register, abort; ownership, bad bodies, checksums, quotas.

What the emulator (moto 5.2.5) does with checksums: it signs nothing and checks nothing on
UploadPart (a body that does not match the signed `x-amz-checksum-sha256` is stored, 200),
lists no part checksums, and computes the completed object's composite checksum from the
bytes it stored. The complete step therefore compares that checksum with the composite
of the digests declared for the parts, which refuses the wrong body here as S3 itself
refuses it at the part's PUT.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import crc32c
import httpx
import pytest
from piccolo.querystring import QueryString

from core.db import engine_kind
from plugins.video.multipart.models import UploadState
from plugins.video.presign import botocore_presign_part, signed_at
from plugins.video.tables import VideoMultipartUpload
from tests.video import workflow
from tests.video.support import problem_fields, run_in_app, user

ALICE, BOB = user("alice"), user("bob")
PATH = f"{workflow.PREFIX}/multipart"
MIB = 1024**2
PART_SIZE = 8 * MIB
FIRST = bytes(range(256)) * (PART_SIZE // 256)
LAST = b"\x00\x00\x00\x18ftypmp42" + b"tail" * 25
SIZE = len(FIRST) + len(LAST)


def _create(client: Any, who: Any = ALICE, **body: Any) -> httpx.Response:
    return client.post(PATH, json={"content_type": "video/mp4", "size_bytes": SIZE, **body},
                       **who.request_options())


def _created(client: Any, who: Any = ALICE, **body: Any) -> dict[str, Any]:
    answer = _create(client, who, **body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _status(client: Any, upload_id: str, who: Any = ALICE, **params: Any) -> httpx.Response:
    return client.get(f"{PATH}/{upload_id}", params=params, **who.request_options())


def _part_urls(client: Any, upload_id: str, parts: list[dict[str, Any]],
               who: Any = ALICE) -> httpx.Response:
    return client.post(f"{PATH}/{upload_id}/parts", json={"parts": parts},
                       **who.request_options())


def _complete(client: Any, upload_id: str, who: Any = ALICE,
              parts: list[dict[str, Any]] | None = None) -> httpx.Response:
    if parts is None:
        return client.post(f"{PATH}/{upload_id}/complete", **who.request_options())
    return client.post(f"{PATH}/{upload_id}/complete", json={"parts": parts},
                       **who.request_options())


def _abort(client: Any, upload_id: str, who: Any = ALICE) -> httpx.Response:
    return client.delete(f"{PATH}/{upload_id}", **who.request_options())


def _put(entry: dict[str, Any], content: bytes) -> httpx.Response:
    """A part sent as a browser sends it: every header listed (httpx sets the length)."""
    assert entry["method"] == "PUT"
    return workflow.put_file(entry, content)


def _by_number(entries: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {entry["number"]: entry for entry in entries}


def _bucket(entry: dict[str, Any]) -> str:
    return urlsplit(entry["url"]).path.split("/")[1]


def _sha256(content: bytes) -> str:
    return base64.b64encode(hashlib.sha256(content).digest()).decode()


def _crc32c(content: bytes) -> str:
    return base64.b64encode(crc32c.crc32c(content).to_bytes(4, "big")).decode()


def _ledger(client: Any, upload_id: str) -> dict[str, Any]:
    return run_in_app(client, lambda: VideoMultipartUpload.select().where(
        VideoMultipartUpload.id == uuid.UUID(upload_id)).first())


def _upload_both_parts(client: Any) -> dict[str, Any]:
    upload = _created(client)
    parts = _by_number(upload["parts"])
    assert _put(parts[1], FIRST).status_code == 200
    assert _put(parts[2], LAST).status_code == 200
    return upload


# -- start ----------------------------------------------------------------------------------

def test_create_answers_the_contracts_shape_and_records_the_upload(client, s3):
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    upload = _created(client)
    assert set(upload) == {"upload_id", "media_id", "s3_key", "part_size", "part_count",
                           "checksum_algorithm", "parts", "expires_at"}
    assert upload["s3_key"] == f"videos/alice/{upload['media_id']}"
    assert (upload["part_size"], upload["part_count"]) == (PART_SIZE, 2)
    assert upload["checksum_algorithm"] is None
    expires_at = dt.datetime.fromisoformat(upload["expires_at"])
    assert before + dt.timedelta(days=1) <= expires_at <= before + dt.timedelta(days=1, seconds=5)
    first, last = upload["parts"]
    assert (first["number"], last["number"]) == (1, 2)
    assert first["method"] == "PUT" and first["headers"] == {"Content-Length": str(PART_SIZE)}
    assert last["headers"] == {"Content-Length": str(len(LAST))}
    query = parse_qs(urlsplit(first["url"]).query)
    assert query["partNumber"] == ["1"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;host"]
    assert int(query["X-Amz-Expires"][0]) == 900
    row = _ledger(client, upload["upload_id"])
    assert row["owner_id"] == "alice" and row["state"] == "ACTIVE"
    assert (row["size_bytes"], row["part_size"]) == (SIZE, PART_SIZE)
    assert row["s3_key"] == upload["s3_key"] and row["content_type"] == "video/mp4"
    # S3's UploadId is in the URLs (S3 needs it) but never a member of the answer
    assert query["uploadId"] == [row["s3_upload_id"]]
    listed = s3.list_multipart_uploads(Bucket=_bucket(first), Prefix=upload["s3_key"])
    assert [item["UploadId"] for item in listed["Uploads"]] == [row["s3_upload_id"]]


def test_urls_come_in_batches_and_resume_from_a_given_part(make_video_client):
    client = make_video_client(settings={"multipart_url_batch": 2})
    upload = _created(client, size_bytes=2 * PART_SIZE + 1)
    assert upload["part_count"] == 3
    assert [part["number"] for part in upload["parts"]] == [1, 2]
    resumed = _status(client, upload["upload_id"], **{"from": 3})
    assert resumed.status_code == 200, resumed.text
    assert [part["number"] for part in resumed.json()["parts"]] == [3]
    assert resumed.json()["parts"][0]["headers"] == {"Content-Length": "1"}
    more = _part_urls(client, upload["upload_id"], [{"number": 3}, {"number": 1}])
    assert more.status_code == 200, more.text
    assert [part["number"] for part in more.json()["parts"]] == [3, 1]
    too_many = _part_urls(client, upload["upload_id"], [{"number": n} for n in (1, 2, 3)])
    assert problem_fields(too_many) == ["parts"]


def test_a_small_file_is_one_part_and_the_largest_is_within_10000(make_video_client):
    client = make_video_client(settings={"max_video_bytes": 5 * 1024**4})
    small = _created(client, size_bytes=1)
    assert (small["part_size"], small["part_count"]) == (PART_SIZE, 1)
    assert small["parts"][0]["headers"] == {"Content-Length": "1"}
    largest = _created(client, size_bytes=5 * 1024**4)
    assert (largest["part_size"], largest["part_count"]) == (1024 * MIB, 5120)
    assert len(largest["parts"]) == 100


def test_the_app_signs_part_urls_inline_exactly_as_botocore_does(client, s3):
    storage = client.app.state.ctx.state["video"].storage
    assert storage.buckets.raw in storage.endpoints  # the fast presigner, on the event loop
    upload = _created(client)
    s3_upload_id = _ledger(client, upload["upload_id"])["s3_upload_id"]
    for entry, length in zip(upload["parts"], (PART_SIZE, len(LAST)), strict=True):
        with mock.patch("botocore.auth.get_current_datetime",
                        return_value=signed_at(entry["url"]).replace(tzinfo=None)):
            expected = botocore_presign_part(
                s3, storage.buckets.raw, upload["s3_key"], 900, upload_id=s3_upload_id,
                part_number=entry["number"], content_length=length)
        assert entry["url"] == expected


# -- resume and complete --------------------------------------------------------------------

def test_resume_complete_and_register(client, s3):
    upload = _created(client)
    upload_id = upload["upload_id"]
    first = _put(_by_number(upload["parts"])[1], FIRST)
    assert first.status_code == 200, first.text

    resumed = _status(client, upload_id)
    assert resumed.status_code == 200, resumed.text
    seen = resumed.json()
    assert seen["state"] == "ACTIVE" and seen["upload_id"] == upload_id
    assert seen["uploaded"] == [{"number": 1, "etag": first.headers["etag"],
                                 "size_bytes": PART_SIZE, "checksum": None}]
    assert [part["number"] for part in seen["parts"]] == [2]
    assert _put(seen["parts"][0], LAST).status_code == 200

    done = _complete(client, upload_id)
    assert done.status_code == 200, done.text
    assert done.json() == {"upload_id": upload_id, "s3_key": upload["s3_key"],
                           "size_bytes": SIZE, "content_type": "video/mp4",
                           "checksum": None, "state": "COMPLETED"}
    stored = s3.get_object(Bucket=_bucket(upload["parts"][0]), Key=upload["s3_key"])
    assert stored["ContentLength"] == SIZE and stored["ContentType"] == "video/mp4"
    assert stored["Body"].read() == FIRST + LAST
    assert _ledger(client, upload_id)["state"] == "COMPLETED"

    again = _complete(client, upload_id)
    assert again.status_code == 200 and again.json() == done.json()
    after = _status(client, upload_id).json()
    assert (after["state"], after["uploaded"], after["parts"]) == ("COMPLETED", [], [])

    video = workflow.register(client, ALICE, upload["s3_key"], title="In parts")
    assert video.status_code == 201, video.text
    assert video.json()["video_s3_key"] == upload["s3_key"]
    assert _abort(client, upload_id).status_code == 409
    assert _part_urls(client, upload_id, [{"number": 1}]).status_code == 409


def test_complete_with_the_clients_parts_checks_their_etags(client):
    upload = _created(client)
    parts = _by_number(upload["parts"])
    etags = [_put(parts[1], FIRST).headers["etag"], _put(parts[2], LAST).headers["etag"]]
    wrong = _complete(client, upload["upload_id"], parts=[
        {"number": 1, "etag": etags[0]}, {"number": 2, "etag": '"0123"'}])
    assert problem_fields(wrong) == ["parts[1].etag"]
    incomplete = _complete(client, upload["upload_id"], parts=[{"number": 1, "etag": etags[0]}])
    assert problem_fields(incomplete) == ["parts"]
    done = _complete(client, upload["upload_id"], parts=[
        {"number": 2, "etag": etags[1].strip('"')}, {"number": 1, "etag": etags[0]}])
    assert done.status_code == 200, done.text


def test_a_missing_part_or_a_wrong_total_size_is_refused_and_the_upload_stays_open(client):
    upload = _created(client)
    parts = _by_number(upload["parts"])
    assert _put(parts[1], FIRST).status_code == 200
    missing = _complete(client, upload["upload_id"])
    assert problem_fields(missing) == ["parts"]
    assert "part 2 of 2" in missing.json()["errors"][0]["message"]
    # The emulator checks no signed Content-Length (S3 refuses this PUT with 403)
    assert _put(parts[2], LAST[:-1]).status_code == 200
    short = _complete(client, upload["upload_id"])
    assert problem_fields(short) == ["size_bytes"]
    assert _status(client, upload["upload_id"]).json()["state"] == "ACTIVE"
    assert _put(parts[2], LAST).status_code == 200
    assert _complete(client, upload["upload_id"]).status_code == 200


def test_a_completion_cut_short_after_s3_assembled_the_object_is_finished_later(client, s3):
    upload = _upload_both_parts(client)
    row = _ledger(client, upload["upload_id"])
    listed = s3.list_parts(Bucket=_bucket(upload["parts"][0]), Key=upload["s3_key"],
                           UploadId=row["s3_upload_id"])["Parts"]
    s3.complete_multipart_upload(
        Bucket=_bucket(upload["parts"][0]), Key=upload["s3_key"], UploadId=row["s3_upload_id"],
        MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                                   for p in listed]})
    assert _ledger(client, upload["upload_id"])["state"] == "ACTIVE"
    done = _complete(client, upload["upload_id"])
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "COMPLETED" and done.json()["size_bytes"] == SIZE
    assert _status(client, upload["upload_id"]).json()["state"] == "COMPLETED"


def test_resuming_lists_every_part_through_all_of_s3s_pages(make_video_client):
    client = make_video_client(settings={"multipart_url_batch": 1002,
                                         "max_video_bytes": 1002 * PART_SIZE})
    upload = _created(client, size_bytes=1002 * PART_SIZE)
    assert len(upload["parts"]) == 1002
    # the emulator checks no signed length: one byte stands for each part
    with httpx.Client(timeout=10) as http, ThreadPoolExecutor(4) as pool:
        sent = list(pool.map(lambda entry: http.put(entry["url"], content=b"x"),
                             upload["parts"][:1001]))
    assert {response.status_code for response in sent} == {200}
    resumed = _status(client, upload["upload_id"]).json()
    assert [part["number"] for part in resumed["uploaded"]] == list(range(1, 1002))
    assert [part["number"] for part in resumed["parts"]] == [1002]
    assert _abort(client, upload["upload_id"]).status_code == 204


# -- abort ----------------------------------------------------------------------------------

def test_abort_drops_the_upload_in_s3_and_then_it_is_gone(client, s3):
    upload = _created(client)
    assert _put(upload["parts"][0], FIRST).status_code == 200
    assert _abort(client, upload["upload_id"]).status_code == 204
    listed = s3.list_multipart_uploads(Bucket=_bucket(upload["parts"][0]),
                                       Prefix=upload["s3_key"])
    assert listed.get("Uploads", []) == []
    assert _ledger(client, upload["upload_id"])["state"] == "ABORTED"
    assert _status(client, upload["upload_id"]).status_code == 404
    assert _complete(client, upload["upload_id"]).status_code == 404
    assert _part_urls(client, upload["upload_id"], [{"number": 1}]).status_code == 404
    assert _abort(client, upload["upload_id"]).status_code == 204


def test_an_expired_upload_is_gone_but_may_still_be_aborted(client, s3):
    upload = _created(client)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    run_in_app(client, lambda: VideoMultipartUpload.update(
        {VideoMultipartUpload.expires_at: past}).where(
        VideoMultipartUpload.id == uuid.UUID(upload["upload_id"])))
    assert _status(client, upload["upload_id"]).status_code == 404
    assert _part_urls(client, upload["upload_id"], [{"number": 1}]).status_code == 404
    assert _complete(client, upload["upload_id"]).status_code == 404
    assert _abort(client, upload["upload_id"]).status_code == 204
    assert s3.list_multipart_uploads(Bucket=_bucket(upload["parts"][0]),
                                     Prefix=upload["s3_key"]).get("Uploads", []) == []


def test_an_upload_s3_no_longer_has_is_closed_and_gone(client, s3):
    upload = _created(client)
    row = _ledger(client, upload["upload_id"])
    s3.abort_multipart_upload(Bucket=_bucket(upload["parts"][0]), Key=upload["s3_key"],
                              UploadId=row["s3_upload_id"])
    assert _status(client, upload["upload_id"]).status_code == 404
    assert _ledger(client, upload["upload_id"])["state"] == "ABORTED"


# -- who may ----------------------------------------------------------------------------------

def test_another_users_upload_is_a_404_on_every_route(client):
    upload = _upload_both_parts(client)
    upload_id = upload["upload_id"]
    for response in [_status(client, upload_id, BOB),
                     _part_urls(client, upload_id, [{"number": 1}], BOB),
                     _complete(client, upload_id, BOB),
                     _abort(client, upload_id, BOB)]:
        assert response.status_code == 404, response.text
        assert response.headers["content-type"] == "application/problem+json"
    unknown = str(uuid.uuid4())
    assert _status(client, unknown).status_code == 404
    assert _abort(client, unknown).status_code == 404
    assert client.get(f"{PATH}/not-a-uuid", **ALICE.request_options()).status_code == 404
    # Bob's attempts changed nothing
    assert _complete(client, upload_id).status_code == 200


def test_every_route_needs_a_signed_in_user(client):
    upload_id = str(uuid.uuid4())
    assert client.post(PATH, json={"content_type": "video/mp4", "size_bytes": 1}) \
        .status_code == 401
    assert client.get(f"{PATH}/{upload_id}").status_code == 401
    assert client.post(f"{PATH}/{upload_id}/parts", json={"parts": [{"number": 1}]}) \
        .status_code == 401
    assert client.post(f"{PATH}/{upload_id}/complete").status_code == 401
    assert client.delete(f"{PATH}/{upload_id}").status_code == 401


# -- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"content_type": "video/mp4"}, "size_bytes"),
    ({"content_type": "video/mp4", "size_bytes": 0}, "size_bytes"),
    ({"content_type": "video/mp4", "size_bytes": 5 * 1024**3 + 1}, "size_bytes"),
    ({"content_type": "video/mp4", "size_bytes": "12"}, "size_bytes"),
    ({"size_bytes": 12}, "content_type"),
    ({"content_type": "text/plain", "size_bytes": 12}, "content_type"),
    ({"content_type": "video/mp4", "size_bytes": 12, "checksum_algorithm": "MD5"},
     "checksum_algorithm"),
])
def test_a_bad_create_body_is_a_422_naming_the_field(client, body, field):
    answer = client.post(PATH, json=body, **ALICE.request_options())
    assert problem_fields(answer) == [field]


def test_bad_part_requests_are_a_422_naming_the_part(client):
    upload_id = _created(client)["upload_id"]
    for parts, field in [
        ([], "parts"),
        ([{"number": 0}], "parts[0].number"),
        ([{"number": 3}], "parts[0].number"),
        ([{"number": 1}, {"number": 1}], "parts[1].number"),
        ([{"number": 1}, {"number": "x"}], "parts[1].number"),
        ([{"number": 2, "checksum": _sha256(LAST)}], "parts[0].checksum"),
    ]:
        assert problem_fields(_part_urls(client, upload_id, parts)) == [field], parts
    assert problem_fields(client.post(f"{PATH}/{upload_id}/parts", json={},
                                      **ALICE.request_options())) == ["parts"]
    for value, field in [("0", "from"), ("3", "from"), ("x", "from")]:
        assert problem_fields(_status(client, upload_id, **{"from": value})) == [field]
    bad_complete = _complete(client, upload_id, parts=[{"number": 1, "etag": ""}])
    assert problem_fields(bad_complete) == ["parts[0].etag"]
    not_sent = _complete(client, upload_id, parts=[{"number": 1}, {"number": 2}])
    assert problem_fields(not_sent) == ["parts[0].number"]
    assert problem_fields(_complete(client, upload_id, parts=[
        {"number": 1, "etag": "a"}, {"number": 1, "etag": "b"}])) == ["parts[1].number"]


# -- checksums ------------------------------------------------------------------------------

def _checksummed_urls(client: Any, upload: dict[str, Any], bodies: dict[int, bytes],
                      digest: Callable[[bytes], str] = _sha256) -> dict[int, dict[str, Any]]:
    answer = _part_urls(client, upload["upload_id"],
                        [{"number": n, "checksum": digest(body)} for n, body in bodies.items()])
    assert answer.status_code == 200, answer.text
    return _by_number(answer.json()["parts"])


def test_a_declared_sha256_is_signed_into_each_parts_url_and_recorded(client, s3):
    upload = _created(client, checksum_algorithm="SHA256")
    assert upload["checksum_algorithm"] == "SHA256" and upload["parts"] == []
    resumed = _status(client, upload["upload_id"]).json()
    assert resumed["parts"] == [] and resumed["uploaded"] == []
    missing = _part_urls(client, upload["upload_id"], [{"number": 1}])
    assert problem_fields(missing) == ["parts[0].checksum"]
    not_base64 = _part_urls(client, upload["upload_id"], [{"number": 1, "checksum": "abc"}])
    assert problem_fields(not_base64) == ["parts[0].checksum"]

    urls = _checksummed_urls(client, upload, {1: FIRST, 2: LAST})
    assert urls[2]["headers"] == {"Content-Length": str(len(LAST)),
                                  "x-amz-checksum-sha256": _sha256(LAST),
                                  "x-amz-sdk-checksum-algorithm": "SHA256"}
    signed = parse_qs(urlsplit(urls[2]["url"]).query)["X-Amz-SignedHeaders"][0].split(";")
    assert signed == ["content-length", "host", "x-amz-checksum-sha256",
                      "x-amz-sdk-checksum-algorithm"]
    etags = [_put(urls[1], FIRST).headers["etag"], _put(urls[2], LAST).headers["etag"]]

    # The emulator lists no part checksums: completing needs the client's list then
    assert problem_fields(_complete(client, upload["upload_id"])) == ["parts"]
    wrong_etag = _complete(client, upload["upload_id"], parts=[
        {"number": 1, "etag": etags[1], "checksum": _sha256(FIRST)},
        {"number": 2, "etag": etags[1], "checksum": _sha256(LAST)}])
    assert problem_fields(wrong_etag) == ["parts[0].etag"]
    # a browser that cannot read ETags through CORS lists numbers and checksums only
    done = _complete(client, upload["upload_id"], parts=[
        {"number": 1, "checksum": _sha256(FIRST)}, {"number": 2, "checksum": _sha256(LAST)}])
    assert done.status_code == 200, done.text
    joined = hashlib.sha256(hashlib.sha256(FIRST).digest() + hashlib.sha256(LAST).digest())
    expected = f"{base64.b64encode(joined.digest()).decode()}-2"
    assert done.json()["checksum"] == {"algorithm": "SHA256", "value": expected}
    head = s3.head_object(Bucket=_bucket(urls[1]), Key=upload["s3_key"], ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"].split("-")[0] == expected.split("-")[0]
    assert workflow.register(client, ALICE, upload["s3_key"]).status_code == 201


def test_a_body_that_does_not_match_its_signed_checksum_never_becomes_the_object(client, s3):
    upload = _created(client, checksum_algorithm="SHA256")
    urls = _checksummed_urls(client, upload, {1: FIRST, 2: LAST})
    assert _put(urls[1], FIRST).status_code == 200
    tampered = LAST[:-1] + b"!"
    sent = _put(urls[2], tampered)
    # S3 answers 400 BadDigest here; the emulator stores the body (checked: 200)
    assert sent.status_code in (200, 400), sent.text
    listed = _status(client, upload["upload_id"]).json()["uploaded"]
    refused = _complete(client, upload["upload_id"], parts=[
        {"number": part["number"], "etag": part["etag"],
         "checksum": _sha256(FIRST if part["number"] == 1 else LAST)} for part in listed])
    if sent.status_code == 400:  # a store that checks: the part is missing
        assert problem_fields(refused) == ["parts"]
        return
    assert problem_fields(refused) == ["parts"]
    assert "do not match the checksums" in refused.json()["errors"][0]["message"]
    assert s3.list_objects_v2(Bucket=_bucket(urls[1]), Prefix=upload["s3_key"])["KeyCount"] == 0
    assert _ledger(client, upload["upload_id"])["state"] == UploadState.ABORTED.value
    assert _status(client, upload["upload_id"]).status_code == 404


def test_a_declared_crc32c_is_signed_into_each_parts_url(client):
    upload = _created(client, checksum_algorithm="CRC32C", size_bytes=100)
    answer = _part_urls(client, upload["upload_id"], [{"number": 1, "checksum": "AAAAAA=="}])
    assert answer.status_code == 200, answer.text
    (entry,) = answer.json()["parts"]
    assert entry["headers"] == {"Content-Length": "100", "x-amz-checksum-crc32c": "AAAAAA==",
                                "x-amz-sdk-checksum-algorithm": "CRC32C"}
    signed = parse_qs(urlsplit(entry["url"]).query)["X-Amz-SignedHeaders"][0]
    assert signed == "content-length;host;x-amz-checksum-crc32c;x-amz-sdk-checksum-algorithm"
    sha = _part_urls(client, upload["upload_id"], [{"number": 1, "checksum": _sha256(b"")}])
    assert problem_fields(sha) == ["parts[0].checksum"]



def test_a_crc32c_upload_completes_with_the_composite_s3_computes(client, s3):
    """The emulator computes CRC32C with the `crc32c` package (part of the local extra);
    without it, it would record a CRC32 and the comparison would refuse the upload."""
    upload = _created(client, checksum_algorithm="CRC32C")
    urls = _checksummed_urls(client, upload, {1: FIRST, 2: LAST}, digest=_crc32c)
    for number, content in ((1, FIRST), (2, LAST)):
        assert _put(urls[number], content).status_code == 200
    done = _complete(client, upload["upload_id"], parts=[
        {"number": 1, "checksum": _crc32c(FIRST)}, {"number": 2, "checksum": _crc32c(LAST)}])
    assert done.status_code == 200, done.text
    joined = crc32c.crc32c(crc32c.crc32c(FIRST).to_bytes(4, "big")
                           + crc32c.crc32c(LAST).to_bytes(4, "big"))
    expected = f"{base64.b64encode(joined.to_bytes(4, 'big')).decode()}-2"
    assert done.json()["checksum"] == {"algorithm": "CRC32C", "value": expected}


# -- quotas ---------------------------------------------------------------------------------

def test_starting_a_multipart_upload_counts_as_an_upload_url(make_video_client):
    client = make_video_client(settings={"quota_upload_urls_per_hour": 2})
    assert workflow.request_upload_url(client, ALICE).status_code == 200
    assert _create(client).status_code == 201
    over = _create(client)
    assert over.status_code == 429, over.text
    assert over.json()["limit"] == "upload_urls_per_hour" and "retry-after" in over.headers
    assert workflow.request_upload_url(client, ALICE).status_code == 429
    assert _create(client, BOB).status_code == 201


def test_a_declared_size_over_the_bytes_quota_is_refused(make_video_client):
    client = make_video_client(settings={"quota_bytes_per_user": SIZE - 1})
    refused = _create(client)
    assert refused.status_code == 403, refused.text
    assert refused.json()["limit"] == "bytes_per_user"
    assert _create(client, size_bytes=SIZE - 1).status_code == 201


# -- the document ---------------------------------------------------------------------------

def test_the_routes_are_in_the_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths[PATH]) == {"post"}
    assert set(paths[f"{PATH}/{{upload_id}}"]) == {"get", "delete"}
    assert set(paths[f"{PATH}/{{upload_id}}/parts"]) == {"post"}
    assert set(paths[f"{PATH}/{{upload_id}}/complete"]) == {"post"}
    create = paths[PATH]["post"]
    assert "201" in create["responses"]


# -- the guide's client ---------------------------------------------------------------------

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "uploads.md"


def _guide_client() -> Any:
    """`upload_file` exactly as docs/uploads.md shows it."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)
    (block,) = [block for block in blocks if "def upload_file" in block]
    namespace: dict[str, Any] = {}
    exec(compile(block, str(GUIDE), "exec"), namespace)
    return namespace["upload_file"]


def test_the_guides_python_client_uploads_and_resumes(client, s3, tmp_path):
    upload_file = _guide_client()
    client.headers.update(ALICE.headers)
    path = tmp_path / "big.mp4"
    path.write_bytes(FIRST + LAST)
    state = tmp_path / "big.upload"
    # an earlier run that sent part 2 only, then stopped
    upload = _created(client)
    state.write_text(f'{{"upload_id": "{upload["upload_id"]}"}}')
    assert _put(_by_number(upload["parts"])[2], LAST).status_code == 200

    key = upload_file(client, workflow.PREFIX, path, state)
    assert key == upload["s3_key"] and not state.exists()
    stored = s3.get_object(Bucket=_bucket(upload["parts"][0]), Key=key)
    assert stored["Body"].read() == FIRST + LAST
    assert workflow.register(client, ALICE, key).status_code == 201
    # from nothing
    assert upload_file(client, workflow.PREFIX, path, state) != key


def test_the_ledger_has_its_owner_index(client):
    async def index_names() -> set[str]:
        engine = VideoMultipartUpload._meta.db
        if engine_kind(engine) == "postgres":
            rows = await engine.run_querystring(QueryString(
                "SELECT indexname AS name FROM pg_indexes WHERE tablename = {}",
                "video_multipart_uploads"))
        else:
            rows = await engine.run_querystring(QueryString(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = {}",
                "video_multipart_uploads"))
        return {row["name"] for row in rows}

    names = run_in_app(client, index_names)
    assert {"video_multipart_uploads_owner_created_idx",
            "video_multipart_uploads_expires_at"} <= names


def test_the_ledger_insert_stores_what_the_query_builder_would(client):
    """The hand-written INSERT and Piccolo's own insert leave the same row (SQLite keeps
    UUIDs and timestamps as text: the same text), and the record reads back as written."""
    from plugins.video.multipart import queries
    from plugins.video.multipart.models import ChecksumAlgorithm, UploadRecord

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    def record() -> UploadRecord:
        return UploadRecord(
            id=uuid.uuid4(), owner_id="alice", s3_key=f"videos/alice/{uuid.uuid4()}",
            s3_upload_id="upload~id", content_type="video/mp4", size_bytes=SIZE,
            part_size=8 * 1024**2, checksum_algorithm=ChecksumAlgorithm.CRC32C,
            state=UploadState.ACTIVE, created_at=now, expires_at=now + dt.timedelta(hours=1))

    ours, reference = record(), record()
    run_in_app(client, lambda: queries.insert(ours))
    run_in_app(client, lambda: VideoMultipartUpload.insert(VideoMultipartUpload(
        id=reference.id, owner_id=reference.owner_id, s3_key=reference.s3_key,
        s3_upload_id=reference.s3_upload_id, content_type=reference.content_type,
        size_bytes=reference.size_bytes, part_size=reference.part_size,
        checksum_algorithm="CRC32C", state="ACTIVE", created_at=reference.created_at,
        expires_at=reference.expires_at, completed_at=None, checksum=None)))
    assert run_in_app(client, lambda: queries.fetch(ours.id)) == ours
    rows = run_in_app(client, lambda: VideoMultipartUpload.raw(
        "SELECT CAST(id AS TEXT) AS id, CAST(created_at AS TEXT) AS created_at, "
        "CAST(expires_at AS TEXT) AS expires_at, size_bytes, state, completed_at "
        "FROM video_multipart_uploads WHERE owner_id = 'alice' ORDER BY s3_key"))
    by_id = {row.pop("id"): row for row in rows}
    assert by_id[str(ours.id)] == by_id[str(reference.id)]
