"""Outbound connections that never reach a non-public address (SSRF).

The check sits where the socket is opened: an httpcore network backend resolves the
endpoint's host, refuses it when any address it resolves to is not public, and connects
to an address it just checked. A name re-pointed between the check and the connection
(DNS rebinding) therefore cannot slip through, and TLS still verifies the certificate
against the name (httpcore passes the URL's host as SNI, not the address).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import httpx

from plugins.webhooks.coalescing import CoalescingBackend

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """The endpoint's host is, or resolves to, an address webhooks may not reach."""


def refusal_reason(address: IPAddress) -> str | None:
    """Why `address` may not be reached ("a loopback address", ...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for flag, reason in (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(address, flag):
            return reason
    if not address.is_global:
        return "not a public address"
    return None


def parse_address(text: str) -> IPAddress:
    # getaddrinfo may add an IPv6 zone ("fe80::1%eth0"): the address is what is checked.
    return ipaddress.ip_address(text.partition("%")[0])


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order, without duplicates."""
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def checked(host: str, addresses: Iterable[str]) -> list[str]:
    """`addresses` when every one is public; else `RefusedAddress` naming the first that
    is not (a name with one private address among public ones is refused too: which one a
    connection uses is not ours to choose)."""
    found = list(addresses)
    for text in found:
        reason = refusal_reason(parse_address(text))
        if reason:
            shown = host if host == text else f"{host} ({text})"
            raise RefusedAddress(f"{shown} is {reason}; refused "
                                 "(plugins.webhooks.allow_private_addresses allows it)")
    if not found:
        raise RefusedAddress(f"{host} resolves to no address")
    return found


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default backend, connecting only to checked addresses."""

    def __init__(self, *, allow_private: bool) -> None:
        self.inner = httpcore.AnyIOBackend()
        self.allow_private = allow_private

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None,
        local_address: str | None = None, socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        with anyio.fail_after(timeout):
            addresses = await resolve(host, port)
        if not self.allow_private:
            addresses = checked(host, addresses)
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self.inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address,
                    socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedAddress("webhooks connect over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_pool(*, allow_private: bool, ssl_context: ssl.SSLContext | None = None,
                 limits: httpx.Limits = httpx.Limits()) -> httpcore.AsyncConnectionPool:
    """An httpcore connection pool over a `GuardedBackend` (each request sent in one
    write), with httpx's TLS defaults. No proxy: through one, the address checked would
    be the proxy's."""
    return httpcore.AsyncConnectionPool(
        ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=CoalescingBackend(GuardedBackend(allow_private=allow_private)),
    )


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a `GuardedBackend`. Never reads proxy settings from the
    environment: through a proxy, the address checked would be the proxy's."""

    def __init__(self, *, allow_private: bool, ssl_context: ssl.SSLContext | None = None,
                 limits: httpx.Limits = httpx.Limits()) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx builds its pool without a way to pass a network backend: build it again,
        # with the same settings and ours.
        self._pool = guarded_pool(allow_private=allow_private, ssl_context=ssl_context,
                                  limits=limits)
