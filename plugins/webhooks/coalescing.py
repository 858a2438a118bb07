"""Network streams that send an HTTP/1.1 request in one write.

httpcore writes a request's head and its body separately, each a system call (on
loopback, each also runs the receiving side's TCP work on the sender's CPU) behind its
own timeout scope. A request is always written whole before its answer is read, so
holding the writes until the next read sends the same bytes, in the same order, at once.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore


class CoalescingStream(httpcore.AsyncNetworkStream):
    """Keeps what is written until the stream is next read."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self.inner = inner
        self.pending: list[bytes] = []
        self.write_timeout: float | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if buffer:
            self.pending.append(buffer)
            self.write_timeout = timeout

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        # As httpcore does when a write fails: the receiver may have answered (and closed)
        # before taking the whole request, so its answer is read all the same.
        with contextlib.suppress(httpcore.WriteError):
            await self.flush()
        return await self.inner.read(max_bytes, timeout)

    async def flush(self) -> None:
        if not self.pending:
            return
        data = b"".join(self.pending)
        self.pending.clear()
        await self.inner.write(data, self.write_timeout)

    async def aclose(self) -> None:
        self.pending.clear()
        await self.inner.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        await self.flush()
        return CoalescingStream(await self.inner.start_tls(ssl_context, server_hostname,
                                                           timeout))

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class CoalescingBackend(httpcore.AsyncNetworkBackend):
    """Another backend whose TCP streams coalesce their writes."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self.inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address,
            socket_options=socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return CoalescingStream(await self.inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options))

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
