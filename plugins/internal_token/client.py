"""Signing for services calling itube with HMAC-signed requests (httpx auth)::

    with httpx.Client(base_url=url, auth=HmacTokenSigner("transcoder", secret)) as api:
        api.patch(f"/api/v1/upload/videos/{video_id}/status", json={"status": "COMPLETED"})
"""

from __future__ import annotations

import time
from collections.abc import Generator

import httpx

from plugins.internal_token.signing import format_header, signature, string_to_sign


def sign_request(
    request: httpx.Request, key_id: str, secret: str, *, timestamp: int | None = None
) -> httpx.Request:
    """Add the Authorization header to `request`, in place; `timestamp` defaults to now."""
    stamp = int(time.time()) if timestamp is None else timestamp
    path, _, query = request.url.raw_path.decode("ascii").partition("?")
    text = string_to_sign(timestamp=stamp, method=request.method, host=request.headers["host"],
                          raw_path=path, raw_query=query, body=request.read())
    request.headers["authorization"] = format_header(key_id, stamp, signature(secret, text))
    return request


class HmacTokenSigner(httpx.Auth):
    requires_request_body = True

    def __init__(self, key_id: str, secret: str) -> None:
        self.key_id = key_id
        self.secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        yield sign_request(request, self.key_id, self.secret)
