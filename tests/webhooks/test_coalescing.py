"""A request leaves in one write (its head and body together), over a real connection to
the receiver, which still verifies it."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore
from standardwebhooks import Webhook

from plugins.webhooks.coalescing import CoalescingBackend


class CountingStream(httpcore.AsyncNetworkStream):
    """httpcore's own stream, its writes counted."""

    def __init__(self, inner: httpcore.AsyncNetworkStream, writes: list[bytes]) -> None:
        self.inner = inner
        self.writes = writes

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes.append(buffer)
        await self.inner.write(buffer, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        raise NotImplementedError

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class CountingBackend(httpcore.AnyIOBackend):
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        stream = await super().connect_tcp(host, port, timeout, local_address, socket_options)
        return CountingStream(stream, self.writes)


async def post_twice(url: str, backend: httpcore.AsyncNetworkBackend, secret: str) -> list[int]:
    body = b'{"type":"video.created","timestamp":"2026-12-02T14:00:00Z","data":{}}'
    statuses = []
    async with httpcore.AsyncConnectionPool(network_backend=backend) as pool:
        for message_id in ("1", "2"):
            sent_at = _now()
            response = await pool.request("POST", url, content=body, headers=[
                ("content-type", "application/json"), ("webhook-id", message_id),
                ("webhook-timestamp", str(int(sent_at.timestamp()))),
                ("webhook-signature", Webhook(secret).sign(message_id, sent_at, body.decode()))])
            statuses.append(response.status)
    return statuses


def _now() -> dt.datetime:
    return dt.datetime.fromtimestamp(int(time.time()), dt.UTC)


def test_each_request_is_one_write(receiver):
    counting = CountingBackend()

    statuses = asyncio.run(post_twice(receiver.url, CoalescingBackend(counting), receiver.secret))

    assert statuses == [200, 200]
    assert [request.error for request in receiver.requests] == [None, None]
    assert len(counting.writes) == 2 and receiver.connections == 1
    assert all(write.startswith(b"POST /hook HTTP/1.1\r\n") and write.endswith(b"{}}")
               for write in counting.writes)


def test_without_it_a_request_is_several_writes(receiver):
    counting = CountingBackend()

    asyncio.run(post_twice(receiver.url, counting, receiver.secret))

    # The head, the body, and an empty end of message.
    assert [len(write) > 0 for write in counting.writes] == [True, True, False] * 2
