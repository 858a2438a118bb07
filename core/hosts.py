"""The hosts a signed service request may be addressed to (`expected_hosts`), one rule for
every service-auth strategy that signs the Host header.

A signature covers the Host header, but a deployment that shares a key with another one
(staging, a sister service) would otherwise accept requests signed for that other host.
An entry is a bare name, which matches the name on any port, or `name:port`, which matches
that port only; names compare case-insensitively. One entry may hold several names
separated by commas (one environment variable).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

import attrs

_HOST = re.compile(r"^(?P<name>\[[0-9a-f:.]+\]|[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?)"
                   r"(?::(?P<port>\d{1,5}))?$")


@functools.lru_cache(maxsize=256)
def split_host(value: str) -> tuple[str, int | None] | None:
    """`("api.example.com", 8443)` from `API.example.com:8443`; None when not a host.
    Remembered: every signed request asks about the Host it came with, and a deployment is
    addressed by a handful."""
    match = _HOST.match(value.lower())
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    return match["name"], port


def list_entries(entries: Sequence[str]) -> list[str]:
    """A list setting's entries, each split at commas (so one environment variable can hold
    several), blanks dropped."""
    return [part.strip() for entry in entries for part in entry.split(",") if part.strip()]


@attrs.frozen
class ExpectedHosts:
    """`allows(host)`: is the received Host header one this deployment answers to?"""

    any_port: frozenset[str]
    exact: frozenset[tuple[str, int]]

    @classmethod
    def parse(cls, entries: Sequence[str]) -> ExpectedHosts:
        """ValueError names the first entry that is not a host name or `host:port`."""
        any_port: set[str] = set()
        exact: set[tuple[str, int]] = set()
        for entry in list_entries(entries):
            parsed = split_host(entry)
            if parsed is None:
                raise ValueError(f"{entry!r} is not a host name or host:port")
            name, port = parsed
            if port is None:
                any_port.add(name)
            else:
                exact.add((name, port))
        return cls(frozenset(any_port), frozenset(exact))

    def allows(self, host: str | None) -> bool:
        parsed = split_host(host or "")
        if parsed is None:
            return False
        name, port = parsed
        return name in self.any_port or (port is not None and (name, port) in self.exact)


def expected_hosts_problems(entries: Sequence[str], *, key: str) -> list[str]:
    """Config messages for an `expected_hosts` setting at `key`: empty, or a bad entry."""
    if not list_entries(entries):
        return [f"{key} is empty: list the host names signed requests are addressed to "
                '(e.g. ["api.example.com"])']
    try:
        ExpectedHosts.parse(entries)
    except ValueError as exc:
        return [f"{key}: {exc}"]
    return []
