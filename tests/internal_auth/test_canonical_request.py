"""The canonical request and signatures `sigv4` builds itself are, byte for byte, those
botocore's `SigV4Auth` builds for the same received request: odd paths, repeated and
unsorted queries in both forms, header values with runs of whitespace and repeats, the
session token, the payload hash header, blacklisted headers."""

from __future__ import annotations

import calendar
import hashlib
import string
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugins.internal_iam.sigv4 import (
    ReceivedRequest,
    SigV4Authorization,
    amz_date_epoch,
    aws_canonical_query,
    canonical_request,
    expected_signatures,
)

TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDEXAMPLE"
ODD = string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:@%/?# \t\"<>[]^`{|}é\u00a0"


def botocore_request(received: ReceivedRequest, auth: SigV4Authorization, query: str
                     ) -> AWSRequest:
    host = received.header("host") or ""
    url = f"https://{host}{received.raw_path}" + (f"?{query}" if query else "")
    request = AWSRequest(method=received.method.upper(), url=url, data=received.body)
    for name in auth.signed_headers:
        for value in received.header_values(name):
            request.headers[name] = value
    request.context["timestamp"] = received.header("x-amz-date")
    return request


def botocore_signatures(received: ReceivedRequest, auth: SigV4Authorization,
                        credentials: Credentials) -> list[str]:
    signer = SigV4Auth(credentials, auth.service, auth.region)
    queries = dict.fromkeys([received.raw_query, aws_canonical_query(received.raw_query)])
    candidates = [botocore_request(received, auth, query) for query in queries]
    canonicals = dict.fromkeys(signer.canonical_request(request) for request in candidates)
    first = candidates[0]
    return [signer.signature(signer.string_to_sign(first, canonical), first)
            for canonical in canonicals]


percent = st.builds(lambda b: f"%{b:02X}" if b % 2 else f"%{b:02x}", st.integers(0, 255))
atoms = st.one_of(st.sampled_from(list(ODD)), percent, st.sampled_from(["..", ".", "%2F", "+"]))
segments = st.lists(atoms, max_size=6).map("".join)
paths = st.lists(segments, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts))
query_atoms = st.one_of(st.sampled_from(list(ODD.replace("&", "").replace("#", ""))), percent)
names = st.lists(query_atoms, max_size=4).map("".join)
pairs = st.tuples(names, st.sampled_from(["=", ""]), names).map("".join)
queries = st.one_of(
    st.just(""),
    st.lists(pairs, max_size=6).map("&".join),
    st.lists(pairs, min_size=1, max_size=3).map(lambda ps: "&".join(ps + ps[:1])),
)
header_text = st.text(alphabet=st.sampled_from(list(" \t\u00a0\x1f,;:=abcXYZ019-é")),
                      max_size=12)
extra_names = st.sampled_from(["x-amz-meta-a", "content-type", "user-agent", "expect",
                               "x-custom", "accept"])


@st.composite
def received_requests(draw: st.DrawFn) -> tuple[ReceivedRequest, SigV4Authorization]:
    body = draw(st.binary(max_size=40))
    headers: list[tuple[str, str]] = [
        ("host", draw(st.sampled_from(["testserver", "testserver:8443", "Example.COM",
                                       "127.0.0.1:9000", "[::1]:8080"]))),
        ("x-amz-date", "20240102T030405Z"),
    ]
    if draw(st.booleans()):
        headers.append(("x-amz-security-token", TOKEN))
    claims = st.sampled_from([hashlib.sha256(body).hexdigest(), "UNSIGNED-PAYLOAD", " pad  "])
    for claimed in draw(st.lists(claims, max_size=2)):
        headers.append(("x-amz-content-sha256", claimed))
    for _ in range(draw(st.integers(0, 5))):
        headers.append((draw(extra_names), draw(header_text)))
    headers = draw(st.permutations(headers))
    present = sorted({name for name, _ in headers})
    optional = [name for name in present if name != "host"]
    signed = sorted({"host", *draw(st.lists(st.sampled_from(optional), max_size=len(optional)))
                     } | set(draw(st.lists(st.sampled_from(["x-absent"]), max_size=1))))
    received = ReceivedRequest(
        method=draw(st.sampled_from(["GET", "put", "Post", "DELETE", "PATCH"])),
        raw_path=draw(paths),
        raw_query=draw(queries),
        headers=tuple(headers),
        body=body,
    )
    auth = SigV4Authorization(access_key_id="AKIAEXAMPLE", date="20240102", region="us-east-1",
                              service="execute-api", signed_headers=tuple(signed),
                              signature="0" * 64)
    return received, auth


CREDENTIALS = Credentials("AKIAEXAMPLE", "secret-é-0123456789abcdef", TOKEN)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(received_requests())
def test_the_canonical_request_is_botocores(case: tuple[ReceivedRequest, SigV4Authorization]):
    received, auth = case
    signer = SigV4Auth(CREDENTIALS, auth.service, auth.region)
    for query in {received.raw_query, aws_canonical_query(received.raw_query)}:
        expected = signer.canonical_request(botocore_request(received, auth, query))
        assert canonical_request(received, auth, query) == expected


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(received_requests(), st.sampled_from(["us-east-1", "eu-west-3"]),
       st.sampled_from(["execute-api", "s3"]), st.sampled_from([CREDENTIALS,
                                                                Credentials("AKIA2", "other")]))
def test_the_signatures_are_botocores(case: tuple[ReceivedRequest, SigV4Authorization],
                                      region: str, service: str, credentials: Credentials):
    received, auth = case
    auth = SigV4Authorization(access_key_id=auth.access_key_id, date=auth.date, region=region,
                              service=service, signed_headers=auth.signed_headers,
                              signature=auth.signature)
    assert expected_signatures(received, auth, credentials) == botocore_signatures(
        received, auth, credentials)


def strptime_epoch(amz_date: str) -> int | None:
    try:
        return calendar.timegm(time.strptime(amz_date, "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return None


def epoch(amz_date: str) -> int | None:
    try:
        return amz_date_epoch(amz_date)
    except ValueError:
        return None


digits = st.text(alphabet=st.sampled_from(list(string.digits)), min_size=2, max_size=2)
stamps = st.builds(lambda y, mo, d, h, mi, s: f"{y:04d}{mo}{d}T{h}{mi}{s}Z",
                   st.integers(0, 9999), digits, digits, digits, digits, digits)


@settings(max_examples=3000)
@given(st.one_of(stamps, st.datetimes().map(lambda t: f"{t.year:04d}{t:%m%dT%H%M%SZ}")))
def test_an_amz_date_reads_as_strptime_reads_it(amz_date: str):
    assert epoch(amz_date) == strptime_epoch(amz_date)


def test_an_amz_date_at_the_edges():
    for stamp in ["20240229T235961Z", "20230229T000000Z", "00000101T000000Z", "99991231T235959Z",
                  "20240431T000000Z", "20241301T000000Z", "20240101T240000Z", "20240101T006000Z",
                  "20240101T000062Z"]:
        assert epoch(stamp) == strptime_epoch(stamp), stamp
    for other_form in ["2024-01-01T000000Z", "20240101T000000", "9990101T000000Z",
                       "20240101T000000Z\n"]:
        assert epoch(other_form) is None
