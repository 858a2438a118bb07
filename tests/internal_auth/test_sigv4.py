"""SigV4 specifics of `internal_iam` static mode: what must be signed, the credential
scope, the payload hash, temporary credentials, interoperability with plain botocore,
and a property: changing any part of a signed request makes verification fail."""

from __future__ import annotations

import hashlib
import string
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from core.auth import AuthenticationFailed
from plugins.internal_iam.client import sign_request
from plugins.internal_iam.sigv4 import ReceivedRequest, parse_authorization, verify
from tests.internal_auth.strategies import SigV4Static
from tests.internal_auth.test_contract import build, detail, resend

STATIC = SigV4Static()
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN//////////wEaDEXAMPLE"
TEMP = Credentials("ASIATESTTEMPORARY001", "temporary-test-secret-0123456789abcdef", TOKEN)


@pytest.fixture
def client(service_app: Any) -> Any:
    settings = STATIC.settings()
    settings["keys"][TEMP.access_key] = {"secret_access_key": TEMP.secret_key,
                                         "session_token": TOKEN, "principal": "transcoder"}
    return service_app("internal_iam", settings)


def sign(request: httpx.Request, credentials: Credentials = STATIC.good, **kw: Any
         ) -> httpx.Request:
    return sign_request(request, credentials, region="us-east-1", **kw)


def rewrite_authorization(request: httpx.Request, old: str, new: str) -> httpx.Request:
    request.headers["authorization"] = request.headers["authorization"].replace(old, new)
    return request


def test_temporary_credentials_with_a_session_token(client: Any):
    signed = sign(build("PATCH", "/internal/items/9/status", json={"status": "COMPLETED"}), TEMP)
    assert "x-amz-security-token" in signed.headers["authorization"]
    response = client.send(signed)
    assert response.status_code == 200, response.text
    assert response.json()["principal"] == "transcoder"


def test_a_wrong_session_token_is_refused(client: Any):
    wrong = Credentials(TEMP.access_key, TEMP.secret_key, TOKEN + "x")
    response = client.send(sign(build("GET", "/internal/objects/a"), wrong))
    assert response.status_code == 401
    assert detail(response) == "session token mismatch"
    assert TOKEN not in response.text


def test_a_session_token_must_be_signed(client: Any):
    signed = sign(build("GET", "/internal/objects/a"),
                  Credentials(TEMP.access_key, TEMP.secret_key))
    signed.headers["x-amz-security-token"] = TOKEN
    response = client.send(signed)
    assert response.status_code == 401
    assert detail(response) == "header x-amz-security-token must be signed"


def test_a_missing_signed_header(client: Any):
    request = build("GET", "/internal/objects/a", headers={"X-Itube-Trace": "abc"})
    signed = sign(request, also_sign=["x-itube-trace"])
    del signed.headers["x-itube-trace"]
    response = client.send(signed)
    assert response.status_code == 401
    assert detail(response) == "signed header x-itube-trace missing"


@pytest.mark.parametrize("header", ["host", "x-amz-date"])
def test_host_and_date_must_be_signed(client: Any, header: str):
    signed = sign(build("GET", "/internal/objects/a"))
    names = signed.headers["authorization"].split("SignedHeaders=")[1].split(",")[0]
    kept = ";".join(name for name in names.split(";") if name != header)
    response = client.send(rewrite_authorization(signed, names, kept))
    assert response.status_code == 401
    assert detail(response) == f"header {header} must be signed"


@pytest.mark.parametrize(
    "kw, reason",
    [
        ({"region": "eu-west-1"}, "credential scope region must be us-east-1"),
        ({"service": "s3"}, "credential scope service must be execute-api"),
    ],
)
def test_the_credential_scope_is_checked(client: Any, kw: dict[str, str], reason: str):
    request = build("GET", "/internal/objects/a")
    signed = sign_request(request, STATIC.good, **{"region": "us-east-1", **kw})
    response = client.send(signed)
    assert response.status_code == 401
    assert detail(response) == reason


def test_the_scope_date_must_match_x_amz_date(client: Any):
    signed = sign(build("GET", "/internal/objects/a"))
    today = signed.headers["x-amz-date"][:8]
    response = client.send(rewrite_authorization(signed, f"/{today}/", "/20200101/"))
    assert response.status_code == 401
    assert detail(response) == "credential scope date does not match X-Amz-Date"


def test_region_and_service_are_settable(service_app: Any):
    settings = {**STATIC.settings(), "region": "eu-central-1", "service": "itube"}
    client = service_app("internal_iam", settings)
    request = build("GET", "/internal/objects/a")
    ok = sign_request(request, STATIC.good, region="eu-central-1", service="itube")
    assert client.send(ok).status_code == 200
    default = sign_request(build("GET", "/internal/objects/a"), STATIC.good, region="us-east-1")
    assert client.send(default).status_code == 401


def test_the_payload_hash_header_is_held_to_the_body(client: Any):
    signed = sign(build("PATCH", "/internal/items/1/status", json={"status": "COMPLETED"}))
    response = client.send(resend(signed, content=b'{"status":"FAILED"}'))
    assert response.status_code == 401
    assert detail(response) == "payload hash mismatch"


def test_an_unsigned_payload_is_refused(client: Any):
    request = build("PATCH", "/internal/items/1/status", json={"status": "COMPLETED"},
                    headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    aws = AWSRequest("PATCH", str(request.url), data=request.content,
                     headers={"host": "testserver", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    SigV4Auth(STATIC.good, "execute-api", "us-east-1").add_auth(aws)
    for name in ("authorization", "x-amz-date"):
        request.headers[name] = aws.headers[name]
    response = client.send(request)
    assert response.status_code == 401
    assert detail(response) == "payload hash mismatch"


def test_plain_botocore_signing_interoperates(client: Any):
    """A service signing with botocore's own add_auth (no X-Amz-Content-SHA256 header)."""
    url = "http://testserver/internal/items/4/status?status=COMPLETED"
    body = b'{"status": "COMPLETED"}'
    aws = AWSRequest("PATCH", url, data=body, headers={"content-type": "application/json"})
    SigV4Auth(STATIC.good, "execute-api", "us-east-1").add_auth(aws)
    response = client.patch(url, content=body, headers=dict(aws.headers.items()))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("path", ["/internal/objects/a//b", "/internal/objects/a/./b",
                                  "/internal/objects/x/../a/b"])
def test_paths_sharing_a_canonical_form_are_refused(path: str):
    """botocore signs /a/./b and /a//b as /a/b: a signature for one must not open another."""
    signed = received(sign(build("GET", "/internal/objects/a/b"), timestamp=NOW))
    verify_at_now(signed)
    with pytest.raises(AuthenticationFailed, match="segments"):
        verify_at_now(received_like(signed, raw_path=path))


def test_a_path_with_empty_segments_is_refused_over_http(client: Any):
    response = client.send(sign(build("GET", "/internal/objects/a//b")))
    assert response.status_code == 401
    assert "segments" in detail(response)


SCOPE = "AWS4-HMAC-SHA256 Credential=AKIA/20250101/us-east-1/execute-api/aws4_request, "


@pytest.mark.parametrize(
    "header, reason",
    [
        ("AWS4-HMAC-SHA256 Credential=garbage", "malformed SigV4 Authorization header"),
        (SCOPE + "SignedHeaders=x-amz-date;host, Signature=" + "0" * 64,
         "SignedHeaders must be sorted and unique"),
        (SCOPE + "SignedHeaders=host;host;x-amz-date, Signature=" + "0" * 64,
         "SignedHeaders must be sorted and unique"),
    ],
    ids=["garbage", "unsorted-signed-headers", "repeated-signed-header"],
)
def test_a_malformed_authorization_header(client: Any, header: str, reason: str):
    for _ in range(2):  # refused every time, not only the first
        response = client.get("/internal/objects/a", headers={"Authorization": header})
        assert response.status_code == 401
        assert detail(response) == reason


def test_another_scheme_is_not_a_credential(client: Any):
    response = client.get("/internal/objects/a", headers={"Authorization": "Bearer abc"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "AWS4-HMAC-SHA256"
    assert response.json()["detail"].endswith("no service credential was presented")


# -- the property ------------------------------------------------------------------------------

NOW = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
SECRET = STATIC.good
segment = st.text(alphabet=string.ascii_letters + string.digits + " -_.~+%/é€", min_size=1,
                  max_size=12).filter(lambda s: s not in {".", ".."})
query_pair = st.tuples(st.text(string.ascii_letters, min_size=1, max_size=5),
                       st.text(string.printable, max_size=8))
MUTATIONS = ["method", "path", "query", "body", "host", "date", "content-type", "signature",
             "secret"]


@st.composite
def signed_requests(draw: Any) -> httpx.Request:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
    path = "/" + "/".join(quote(part, safe="") for part in draw(st.lists(segment, min_size=1,
                                                                          max_size=4)))
    query = urlencode(draw(st.lists(query_pair, max_size=3)))
    body = draw(st.binary(max_size=64))
    headers = {"content-type": draw(st.sampled_from(["application/json", "text/plain"]))}
    url = f"http://api.example{path}" + (f"?{query}" if query else "")
    return sign(httpx.Request(method, url, content=body, headers=headers), SECRET, timestamp=NOW)


def received(request: httpx.Request, **changes: Any) -> ReceivedRequest:
    path, _, query = request.url.raw_path.decode().partition("?")
    headers = tuple((k.lower(), v) for k, v in request.headers.multi_items())
    fields = {"method": request.method, "raw_path": path, "raw_query": query,
              "headers": headers, "body": request.content}
    return ReceivedRequest(**{**fields, **changes})


def verify_at_now(request: ReceivedRequest, credentials: Credentials = SECRET) -> None:
    auth = parse_authorization(request.header("authorization"))
    assert auth is not None
    verify(request, auth, credentials, region="us-east-1", service="execute-api",
           now=NOW.timestamp(), max_skew=300)


def mutate(original: ReceivedRequest, what: str, draw: Any) -> tuple[ReceivedRequest, Credentials]:
    def replace_header(name: str, transform: Any) -> ReceivedRequest:
        headers = tuple((k, transform(v) if k == name else v) for k, v in original.headers)
        return received_like(original, headers=headers)

    if what == "method":
        other = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]))
        assume(other != original.method)
        return received_like(original, method=other), SECRET
    if what == "path":
        return received_like(original, raw_path=original.raw_path + draw(segment_suffix)), SECRET
    if what == "query":
        extra = urlencode([draw(query_pair)])
        query = f"{original.raw_query}&{extra}" if original.raw_query else extra
        return received_like(original, raw_query=query), SECRET
    if what == "body":
        return received_like(original, body=original.body + draw(st.binary(min_size=1,
                                                                          max_size=4))), SECRET
    if what == "host":
        return replace_header("host", lambda v: v + draw(st.sampled_from(["x", ":8443", "."]))
                              ), SECRET
    if what == "date":
        return replace_header("x-amz-date", lambda v: v[:-3] + "01Z"
                              if v[-3:] != "01Z" else v[:-3] + "02Z"), SECRET
    if what == "content-type":
        return replace_header("content-type", lambda v: v + "; charset=utf-8"), SECRET
    if what == "signature":
        def flip(value: str) -> str:
            head, sig = value.rsplit("Signature=", 1)
            return f"{head}Signature={'0' if sig[0] != '0' else '1'}{sig[1:]}"

        return replace_header("authorization", flip), SECRET
    other = draw(st.text(string.ascii_letters, min_size=1, max_size=40))
    assume(other != SECRET.secret_key)
    return original, Credentials(SECRET.access_key, other)


segment_suffix = st.sampled_from(["x", "/x", "%2F", "%20", "-"])


def received_like(original: ReceivedRequest, **changes: Any) -> ReceivedRequest:
    return ReceivedRequest(**{"method": original.method, "raw_path": original.raw_path,
                              "raw_query": original.raw_query, "headers": original.headers,
                              "body": original.body, **changes})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=signed_requests(), what=st.sampled_from(MUTATIONS), data=st.data())
def test_changing_any_part_of_a_signed_request_fails_verification(
    request: httpx.Request, what: str, data: st.DataObject
):
    original = received(request)
    verify_at_now(original)  # the unchanged request verifies
    changed, credentials = mutate(original, what, data.draw)
    with pytest.raises(AuthenticationFailed):
        verify_at_now(changed, credentials)


def test_the_payload_hash_header_carries_the_body_hash():
    request = sign(build("POST", "/x", content=b"abc"), timestamp=NOW)
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(b"abc").hexdigest()


# -- the query as AWS canonicalises it -----------------------------------------------------------

query_text = st.text(alphabet=string.ascii_letters + string.digits + " +/%&=~-_.!*'()é€ሴ",
                     max_size=8)


def equivalent_encoding(text: str, draw: Any) -> str:
    """`text` percent-encoded one of the many ways a client may send it: unreserved and
    harmless characters raw or escaped, hex digits in either case, a space as `+` or `%20`,
    non-ASCII raw or escaped."""
    out = []
    for char in text:
        escaped = "".join(f"%{byte:02X}" for byte in char.encode())
        if draw(st.booleans()):
            escaped = escaped.lower()
        if char == " ":
            out.append(draw(st.sampled_from(["+", escaped])))
        elif char in "+%&=":
            out.append(escaped)
        else:
            out.append(draw(st.sampled_from([char, escaped])))
    return "".join(out)


def botocore_params_authorization(params: dict[str, str], stamp: str) -> str:
    """botocore's signature of a GET with `params` at `stamp` (add_auth would use now)."""
    aws = AWSRequest("GET", "http://api.example/objects", params=params,
                     headers={"x-amz-date": stamp})
    aws.context["timestamp"] = stamp
    signer = SigV4Auth(SECRET, "execute-api", "us-east-1")
    signature = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
    signed = signer.signed_headers(signer.headers_to_sign(aws))
    return (f"AWS4-HMAC-SHA256 Credential={signer.scope(aws)}, SignedHeaders={signed}, "
            f"Signature={signature}")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=st.dictionaries(query_text.filter(bool), query_text, min_size=1, max_size=4),
       data=st.data())
def test_any_encoding_of_an_aws_signed_query_verifies_and_no_other_query_does(
    params: dict[str, str], data: st.DataObject
):
    """A signer that signs the AWS canonical form (botocore with `params`, the AWS SDKs,
    requests-aws4auth) is accepted however the client escaped the query; a query that reads
    differently is not."""
    stamp = NOW.strftime("%Y%m%dT%H%M%SZ")
    headers = (("host", "api.example"), ("x-amz-date", stamp),
               ("authorization", botocore_params_authorization(params, stamp)))
    pairs = [f"{equivalent_encoding(name, data.draw)}={equivalent_encoding(value, data.draw)}"
             for name, value in data.draw(st.permutations(list(params.items())))]
    sent = ReceivedRequest(method="GET", raw_path="/objects", raw_query="&".join(pairs),
                           headers=headers, body=b"")
    verify_at_now(sent)
    name = data.draw(st.sampled_from(sorted(params)))
    changed = {**params, name: params[name] + data.draw(st.sampled_from(["+", " ", "x", "é"]))}
    other = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in changed.items())
    with pytest.raises(AuthenticationFailed, match="signature mismatch"):
        verify_at_now(received_like(sent, raw_query=other))
