"""SigV4 for the service pass: a `requests` auth that signs each prepared request with
plain botocore (`SigV4Auth`), independently of the project's own signer."""

from __future__ import annotations

import hashlib
import secrets

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# Signed, and different on every request: the server refuses a signature it has already
# seen on an unsafe method, and two generated requests may be identical.
NONCE_HEADER = "X-Fuzz-Nonce"
SIGNED_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", NONCE_HEADER)


class BotocoreSigV4(requests.auth.AuthBase):
    """Signs the request as sent: its final URL (path and query as encoded), its body."""

    def __init__(self, credentials: Credentials, *, region: str,
                 service: str = "execute-api") -> None:
        self.credentials = credentials
        self.region = region
        self.service = service

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        aws = AWSRequest(method=request.method, url=request.url, data=body, headers={
            NONCE_HEADER: secrets.token_hex(16),
            "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
        })
        SigV4Auth(self.credentials, self.service, self.region).add_auth(aws)
        for name in SIGNED_HEADERS:
            request.headers[name] = aws.headers[name]
        return request
