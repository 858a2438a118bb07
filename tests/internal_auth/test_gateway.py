"""gateway mode: an identity asserted by API Gateway counts only from the trusted proxy's
network and with its shared secret; a header alone never authenticates anyone."""

from __future__ import annotations

from typing import Any

import pytest

SECRET = "gateway-shared-secret-0123456789abcdef"
ARN = "arn:aws:sts::123456789012:assumed-role/itube-transcoder/task-1"
SETTINGS = {
    "mode": "gateway",
    "allowed_principals": ["arn:aws:sts::123456789012:assumed-role/itube-transcoder/*"],
    "gateway": {"trusted_networks": ["10.20.0.0/16"], "shared_secret": SECRET},
}
STATUS = "/internal/items/1/status?status=COMPLETED"


@pytest.fixture
def from_proxy(service_app: Any) -> Any:
    return service_app("internal_iam", SETTINGS, client=("10.20.3.4", 40000))


@pytest.fixture
def from_elsewhere(service_app: Any) -> Any:
    return service_app("internal_iam", SETTINGS, client=("192.0.2.9", 40000))


def asserted(arn: str = ARN, secret: str = SECRET) -> dict[str, str]:
    return {"X-Itube-Caller-Arn": arn, "X-Itube-Gateway-Secret": secret}


def test_the_trusted_proxy_with_its_secret_is_believed(from_proxy: Any):
    response = from_proxy.patch(STATUS, headers=asserted())
    assert response.status_code == 200, response.text
    assert response.json()["principal"] == ARN


def test_the_same_headers_from_elsewhere_are_refused(from_elsewhere: Any):
    response = from_elsewhere.patch(STATUS, headers=asserted())
    assert response.status_code == 401
    assert response.json()["detail"] == "identity asserted by an untrusted source"


def test_a_wrong_shared_secret_is_refused(from_proxy: Any):
    response = from_proxy.patch(STATUS, headers=asserted(secret="guess"))
    assert response.status_code == 401
    assert response.json()["detail"] == "gateway secret mismatch"
    assert SECRET not in response.text


def test_an_identity_outside_the_allow_list_is_forbidden(from_proxy: Any):
    response = from_proxy.patch(STATUS, headers=asserted(
        arn="arn:aws:iam::123456789012:user/someone-else"))
    assert response.status_code == 403
    assert response.json()["detail"] == "principal not allowed"


@pytest.mark.parametrize("headers", [
    {"X-Amzn-RequestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"},
    {"X-Itube-Gateway-Secret": SECRET},
    {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/execute-api/"
                      "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "a" * 64},
], ids=["request-id", "secret-only", "sigv4-header"])
def test_headers_alone_never_authenticate(from_proxy: Any, headers: dict[str, str]):
    response = from_proxy.patch(STATUS, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "AWS4-HMAC-SHA256"
