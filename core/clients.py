"""Who is on the other end: the connection's peer, or the address a trusted proxy reports.

A forwarded-address header is written by whoever sends the request, so it is believed
only when the peer is one of the configured proxies (uvicorn's `forwarded_allow_ips`
idea). Then the header is read right to left: each hop that is itself a trusted proxy
hands over to the one before it, and the first untrusted hop is the client. Anything a
client wrote to the left of that is never read, so rotating it changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def parse_networks(entries: Sequence[str]) -> list[Network]:
    """`["10.0.0.0/8", "127.0.0.1"]` as networks; an entry may hold several separated by
    commas (one environment variable). ValueError names the first bad one."""
    networks = []
    for cidr in (part for entry in entries for part in entry.split(",") if part.strip()):
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
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def of(self, scope: Any) -> str:
        """The client's address for this request."""
        peer = scope.get("client")
        address = peer[0] if peer else UNKNOWN
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
                hops += [hop.strip() for hop in value.decode("latin-1").split(",")]
        return [hop for hop in hops if hop]
