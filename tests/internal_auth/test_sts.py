"""sts mode against the moto server: IAM users and an assumed role prove who they are with
a signed sts:GetCallerIdentity that we replay to our STS endpoint (moto's auth mode on)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from botocore.credentials import Credentials

from core.cache import MemoryCache
from plugins.internal_iam import client as iam_client
from plugins.internal_iam.sigv4 import parse_authorization
from plugins.internal_iam.sts import StsProof, StsVerifier
from tests.internal_auth.conftest import moto_auth
from tests.internal_auth.strategies import (
    ACCOUNT,
    SigV4Sts,
    assume_new_role,
    aws_client,
)
from tests.internal_auth.test_contract import build, detail, resend


@pytest.fixture
def sts(moto_endpoint: str) -> SigV4Sts:
    return SigV4Sts(moto_endpoint)


@pytest.fixture
def app(sts: SigV4Sts, service_app: Any) -> Any:
    return service_app("internal_iam", sts.settings())


def test_an_iam_user(sts: SigV4Sts, app: Any, moto_endpoint: str):
    with moto_auth(moto_endpoint):
        response = app.send(sts.sign(build("PATCH", "/internal/items/3/status",
                                           json={"status": "COMPLETED"})))
    assert response.status_code == 200, response.text
    assert response.json()["principal"] == sts.good_arn


def test_an_assumed_role_with_a_session_token(sts: SigV4Sts, app: Any, moto_endpoint: str):
    role = f"itube-task-{uuid.uuid4().hex[:8]}"
    temporary = assume_new_role(moto_endpoint, role, "task-1")
    with moto_auth(moto_endpoint):
        response = app.send(sts.sign_with(build("GET", "/internal/objects/videos%2Fa%2Fb"),
                                          temporary))
        wrong_token = Credentials(temporary.access_key, temporary.secret_key, "forged-token")
        forged = app.send(sts.sign_with(build("GET", "/internal/objects/x"), wrong_token))
    assert response.status_code == 200, response.text
    assert response.json()["principal"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/task-1"
    assert response.json()["key"] == "videos/a/b"
    assert forged.status_code == 401


def test_a_role_outside_the_allow_list(sts: SigV4Sts, app: Any, moto_endpoint: str):
    temporary = assume_new_role(moto_endpoint, f"other-{uuid.uuid4().hex[:8]}", "session-1")
    with moto_auth(moto_endpoint):
        response = app.send(sts.sign_with(build("GET", "/internal/objects/x"), temporary))
    assert response.status_code == 403
    assert detail(response) == "principal not allowed"


def test_a_proof_made_for_another_server(sts: SigV4Sts, app: Any, moto_endpoint: str):
    with moto_auth(moto_endpoint):
        response = app.send(sts.sign(build("GET", "/internal/objects/x"), server_id="other"))
    assert response.status_code == 401
    assert detail(response) == "STS proof was made for another server"


def test_a_proof_for_another_sts_endpoint_is_never_sent_there(sts: SigV4Sts, app: Any):
    signed = sts.sign(build("GET", "/internal/objects/x"),
                      endpoint="https://sts.attacker.example")
    response = app.send(signed)
    assert response.status_code == 401
    assert detail(response) == "STS proof was signed for another STS endpoint"


def test_the_server_id_and_digest_must_be_signed(sts: SigV4Sts, app: Any):
    signed = sts.sign(build("GET", "/internal/objects/x"))
    proof = iam_client.decode_proof(signed.headers[iam_client.PROOF_HEADER])
    names = proof["authorization"].split("SignedHeaders=")[1].split(",")[0]
    kept = ";".join(name for name in names.split(";") if name != "x-itube-server-id")
    assert kept != names
    proof["authorization"] = proof["authorization"].replace(names, kept)
    signed.headers[iam_client.PROOF_HEADER] = iam_client.encode_proof(proof)
    response = app.send(signed)
    assert response.status_code == 401
    assert detail(response) == "STS proof must sign header x-itube-server-id"


@pytest.mark.parametrize("proof", ["not base64 !", "bnVsbA", "eyJhIjogMX0"],
                         ids=["garbage", "json-null", "non-string-values"])
def test_a_malformed_proof(app: Any, proof: str):
    response = app.get("/internal/objects/x", headers={"X-Itube-STS-Proof": proof})
    assert response.status_code == 401


def test_a_verified_identity_is_cached_for_the_same_proof(sts: SigV4Sts, app: Any,
                                                         moto_endpoint: str):
    signed = sts.sign(build("GET", "/internal/objects/x"))
    with moto_auth(moto_endpoint):
        assert app.send(signed).status_code == 200
    user = sts.good_arn.rsplit("/", 1)[1]
    aws_client("iam", moto_endpoint).delete_access_key(UserName=user,
                                                       AccessKeyId=sts.good.access_key)
    with moto_auth(moto_endpoint):
        retried = app.send(resend(signed))
        fresh = app.send(sts.sign(build("GET", "/internal/objects/another")))
    assert retried.status_code == 200  # from the identity cache, STS not asked again
    assert fresh.status_code == 401, fresh.text  # the key is gone: STS refuses a new proof


def test_the_sts_endpoint_defaults_to_the_provisioned_one(sts: SigV4Sts, service_app: Any,
                                                         moto_endpoint: str):
    settings = {**sts.settings(), "sts": {}}
    client = service_app("internal_iam", settings, local_aws=True)
    with moto_auth(moto_endpoint):
        response = client.send(sts.sign(build("GET", "/internal/objects/x")))
    assert response.status_code == 200, response.text


def test_sts_unreachable_is_a_503(sts: SigV4Sts, service_app: Any):
    settings = {**sts.settings(), "sts": {"endpoint_url": "http://127.0.0.1:9",
                                          "timeout_seconds": 2}}
    client = service_app("internal_iam", settings)
    response = client.send(sts.sign(build("GET", "/internal/objects/x"),
                                    endpoint="http://127.0.0.1:9"))
    assert response.status_code == 503


def forge_for(proof_of: httpx.Request, target: httpx.Request) -> httpx.Request:
    """`target` carrying the proof observed on `proof_of`, its digest swapped for the digest
    of `target`: the signature is unchanged, so only STS could tell."""
    proof = iam_client.decode_proof(proof_of.headers[iam_client.PROOF_HEADER])
    path, _, query = target.url.raw_path.decode().partition("?")
    proof[iam_client.DIGEST_HEADER] = iam_client.request_digest(
        target.method, target.headers["host"], path, query, target.read())
    target.headers[iam_client.PROOF_HEADER] = iam_client.encode_proof(proof)
    return target


def test_a_captured_proof_does_not_open_another_request(sts: SigV4Sts, app: Any,
                                                        moto_endpoint: str):
    observed = sts.sign(build("GET", "/internal/objects/x"))
    forged = forge_for(observed, build("PATCH", "/internal/items/1/status?status=FAILED"))
    with moto_auth(moto_endpoint):
        assert app.send(observed).status_code == 200  # its identity is now cached
        response = app.send(forged)
    assert response.status_code == 401, response.text
    assert detail(response) == "STS refused the proof (SignatureDoesNotMatch)"


def test_a_forged_proof_is_refused_with_a_cold_cache(sts: SigV4Sts, app: Any,
                                                     moto_endpoint: str):
    observed = sts.sign(build("GET", "/internal/objects/x"))
    forged = forge_for(observed, build("PATCH", "/internal/items/1/status?status=FAILED"))
    with moto_auth(moto_endpoint):
        response = app.send(forged)
    assert response.status_code == 401, response.text
    assert detail(response) == "STS refused the proof (SignatureDoesNotMatch)"


def test_the_identity_cache_key_covers_every_header_and_the_request(sts: SigV4Sts):
    signed = sts.sign(build("GET", "/internal/objects/x", headers={"x-itube-extra": "1"}))
    headers = iam_client.decode_proof(signed.headers[iam_client.PROOF_HEADER])
    auth = parse_authorization(headers["authorization"])
    assert auth is not None
    verifier = StsVerifier(endpoint_url=sts.endpoint, server_id="itube",
                           http=httpx.AsyncClient(), cache=MemoryCache(),
                           identity_cache_seconds=60, max_skew=300)

    def key(proof_headers: dict[str, str], digest: str = "d") -> str:
        return verifier.identity_key(StsProof(headers=proof_headers, auth=auth, signed_at=0,
                                              request_digest=digest))

    original = key(headers)
    assert key(dict(reversed(headers.items()))) == original  # order does not matter
    assert key(headers, digest="e") != original
    for name in headers:
        assert key({**headers, name: headers[name] + "0"}) != original, name
    assert key({**headers, "x-added": ""}) != original
