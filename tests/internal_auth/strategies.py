"""The service-auth strategies the contract suite runs against, behind one small interface:
the plugin and its settings, how to sign a request as a given identity at a given clock
offset, and how to swap a signature for a well-formed bogus one."""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
import httpx
from botocore.credentials import Credentials

from plugins.internal_iam import client as iam_client
from plugins.internal_token import client as token_client

Identity = Literal["good", "wrong_secret", "unknown_key", "not_allowed"]
REGION = "us-east-1"
# The Host of Starlette's TestClient requests, on any port.
EXPECTED_HOSTS = ["testserver"]
ACCOUNT = "123456789012"
_SIGNATURE = re.compile(r"Signature=[0-9a-f]{64}")


def bogus_signature(header: str) -> str:
    return _SIGNATURE.sub(f"Signature={secrets.token_hex(32)}", header)


class SigV4Static:
    name = "sigv4"
    plugin = "internal_iam"
    challenge = "AWS4-HMAC-SHA256"
    good = Credentials("AKIATESTTRANSCODER01", "transcoder-test-secret-0123456789abcdef")
    outsider = Credentials("AKIATESTOUTSIDER0001", "outsider-test-secret-0123456789abcdef")

    def settings(self) -> dict[str, Any]:
        return {
            "mode": "static",
            "allowed_principals": ["transcoder"],
            "expected_hosts": list(EXPECTED_HOSTS),
            "keys": {
                self.good.access_key: {"secret_access_key": self.good.secret_key,
                                       "principal": "transcoder"},
                self.outsider.access_key: {"secret_access_key": self.outsider.secret_key,
                                           "principal": "outsider"},
            },
        }

    def credentials(self, identity: Identity) -> Credentials:
        return {
            "good": self.good,
            "wrong_secret": Credentials(self.good.access_key, "not-the-secret"),
            "unknown_key": Credentials("AKIANOSUCHKEY0000000", "whatever"),
            "not_allowed": self.outsider,
        }[identity]

    def sign(self, request: httpx.Request, identity: Identity = "good", skew: int = 0,
             ) -> httpx.Request:
        return iam_client.sign_request(request, self.credentials(identity), region=REGION,
                                       timestamp=datetime.now(UTC) + timedelta(seconds=skew))

    def corrupt(self, request: httpx.Request) -> None:
        request.headers["authorization"] = bogus_signature(request.headers["authorization"])

    def principal(self) -> str:
        return "transcoder"


class HmacToken:
    name = "hmac"
    plugin = "internal_token"
    challenge = "ITUBE-HMAC-SHA256"
    secrets = {"transcoder": "t" * 40, "outsider": "o" * 40}

    def settings(self) -> dict[str, Any]:
        return {"keys": dict(self.secrets), "allowed_principals": ["transcoder"],
                "expected_hosts": list(EXPECTED_HOSTS)}

    def sign(self, request: httpx.Request, identity: Identity = "good", skew: int = 0,
             ) -> httpx.Request:
        key_id, secret = {
            "good": ("transcoder", self.secrets["transcoder"]),
            "wrong_secret": ("transcoder", "not-the-secret"),
            "unknown_key": ("nobody", "whatever"),
            "not_allowed": ("outsider", self.secrets["outsider"]),
        }[identity]
        now = int(datetime.now(UTC).timestamp())
        return token_client.sign_request(request, key_id, secret, timestamp=now + skew)

    def corrupt(self, request: httpx.Request) -> None:
        request.headers["authorization"] = bogus_signature(request.headers["authorization"])

    def principal(self) -> str:
        return "transcoder"


class SigV4Sts:
    """sts mode against the moto server: IAM users made per test (moto's auth mode must
    be on while requests are verified, or moto answers without checking signatures)."""

    name = "sts"
    plugin = "internal_iam"
    challenge = "ITUBE-STS-PROOF"

    def __init__(self, moto_endpoint: str) -> None:
        self.endpoint = moto_endpoint
        suffix = uuid.uuid4().hex[:10]
        self.good = create_iam_user(moto_endpoint, f"itube-transcoder-{suffix}")
        self.outsider = create_iam_user(moto_endpoint, f"itube-outsider-{suffix}")
        self.good_arn = f"arn:aws:iam::{ACCOUNT}:user/itube-transcoder-{suffix}"

    def settings(self) -> dict[str, Any]:
        return {
            "mode": "sts",
            "allowed_principals": [f"arn:aws:iam::{ACCOUNT}:user/itube-transcoder-*",
                                   f"arn:aws:sts::{ACCOUNT}:assumed-role/itube-*"],
            "expected_hosts": list(EXPECTED_HOSTS),
            "sts": {"endpoint_url": self.endpoint},
        }

    def credentials(self, identity: Identity) -> Credentials:
        return {
            "good": self.good,
            "wrong_secret": Credentials(self.good.access_key, "not-the-secret"),
            "unknown_key": Credentials("AKIANOSUCHKEY0000000", "whatever"),
            "not_allowed": self.outsider,
        }[identity]

    def sign(self, request: httpx.Request, identity: Identity = "good", skew: int = 0,
             *, server_id: str = "itube", endpoint: str | None = None) -> httpx.Request:
        return self.sign_with(request, self.credentials(identity), skew=skew,
                              server_id=server_id, endpoint=endpoint)

    def sign_with(self, request: httpx.Request, credentials: Credentials, *, skew: int = 0,
                  server_id: str = "itube", endpoint: str | None = None) -> httpx.Request:
        return iam_client.attach_sts_proof(
            request, credentials, sts_endpoint_url=endpoint or self.endpoint, sts_region=REGION,
            server_id=server_id, timestamp=datetime.now(UTC) + timedelta(seconds=skew),
        )

    def corrupt(self, request: httpx.Request) -> None:
        headers = iam_client.decode_proof(request.headers[iam_client.PROOF_HEADER])
        headers["authorization"] = bogus_signature(headers["authorization"])
        request.headers[iam_client.PROOF_HEADER] = iam_client.encode_proof(headers)

    def principal(self) -> str:
        return self.good_arn


def aws_client(service: str, endpoint: str, credentials: Credentials | None = None) -> Any:
    creds = credentials or Credentials("testing", "testing")
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id=creds.access_key,
                        aws_secret_access_key=creds.secret_key,
                        aws_session_token=creds.token)


def create_iam_user(endpoint: str, name: str) -> Credentials:
    iam = aws_client("iam", endpoint)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def assume_new_role(endpoint: str, role_name: str, session: str) -> Credentials:
    """Temporary credentials (with a session token) of a freshly created role."""
    iam = aws_client("iam", endpoint)
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
    temp = aws_client("sts", endpoint).assume_role(RoleArn=role["Role"]["Arn"],
                                                   RoleSessionName=session)["Credentials"]
    return Credentials(temp["AccessKeyId"], temp["SecretAccessKey"], temp["SessionToken"])
