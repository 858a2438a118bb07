"""Who is on the other end: the connection's peer, or the address a trusted proxy reports.

A forwarded-address header is written by whoever sends the request, so it is believed
only when the peer is one of the configured proxies (uvicorn's `forwarded_allow_ips`
idea). Then the header is read right to left: each hop that is itself a trusted proxy
hands over to the one before it, and the first untrusted hop is the client. Anything a
client wrote to the left of that is never read, so rotating it changes nothing.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from typing import Any

from core.hosts import list_entries

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
UNKNOWN = "unknown"


def parse_networks(entries: Sequence[str]) -> list[Network]:
    """`["10.0.0.0/8", "127.0.0.1"]` as networks; an entry may hold several separated by
    commas (one environment variable). ValueError names the first bad one."""
    networks = []
    for cidr in list_entries(entries):
        try:
            networks.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP address or CIDR network") from None
    return networks


class ClientAddresses:
    """Finds the client address of an ASGI scope (one per app, from `[http]`)."""

    def __init__(self, trusted_proxies: Sequence[str] = (), header: str = "x-forwarded-for"):
        self.networks = parse_networks(trusted_proxies)
        self.header = header.strip().lower().encode("latin-1")

    def is_trusted(self, address: str) -> bool:
        if not self.networks:
            return False
        ip = parse_address(address)
        return ip is not None and any(ip in network for network in self.networks)

    def of(self, scope: Any) -> str:
        """The client's address for this request."""
        peer = scope.get("client")
        address = canonical(peer[0]) if peer else UNKNOWN
        if not self.header or not self.is_trusted(address):
            return address
        for hop in reversed(self._forwarded_hops(scope)):
            if not self.is_trusted(hop):
                return hop
            address = hop
        return address

    def _forwarded_hops(self, scope: Any) -> list[str]:
        hops = []
        for name, value in scope.get("headers", ()):
            if name.lower() == self.header:
                hops += [canonical(hop.strip()) for hop in value.decode("latin-1").split(",")]
        return [hop for hop in hops if hop]


def parse_address(text: str) -> IPAddress | None:
    """The IP in `text`: a bare address, `1.2.3.4:port` or `[v6]:port` (some proxies add
    the port); an IPv4-mapped IPv6 address is its IPv4 address. None when not an IP."""
    host = text
    if text.startswith("[") and "]" in text:
        host = text[1:text.index("]")]
    elif text.count(":") == 1:
        host = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return mapped or ip


# Clients come back: their addresses are parsed once each (2 µs a parse), up to this many.
CANONICAL_MEMO = 4096


@functools.lru_cache(maxsize=CANONICAL_MEMO)
def canonical(text: str) -> str:
    """One spelling per client, so a port or a notation cannot make it a new one."""
    ip = parse_address(text)
    return text if ip is None else str(ip)
