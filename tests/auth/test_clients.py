"""Client addresses (`core.clients`): the peer, unless a trusted proxy reports another."""

from __future__ import annotations

from typing import Any

import pytest

from core.clients import ClientAddresses, canonical, parse_networks

PROXY = "10.0.0.5"


def scope(peer: str | None, *forwarded: str, header: str = "x-forwarded-for") -> dict[str, Any]:
    headers = [(header.encode(), value.encode("latin-1")) for value in forwarded]
    return {"type": "http", "headers": headers, "client": (peer, 4321) if peer else None}


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_header_says():
    clients = ClientAddresses()
    assert clients.of(scope("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_an_untrusted_peer_cannot_choose_its_address():
    clients = ClientAddresses(["10.0.0.0/8"])
    assert clients.of(scope("203.0.113.9", "198.51.100.1")) == "203.0.113.9"
    assert clients.of(scope("203.0.113.9", "10.0.0.7")) == "203.0.113.9"


def test_a_trusted_proxy_reports_the_client_in_the_last_entry():
    clients = ClientAddresses(["10.0.0.0/8"])
    assert clients.of(scope(PROXY, "198.51.100.1")) == "198.51.100.1"


def test_what_the_client_wrote_before_the_proxys_entry_is_never_read():
    clients = ClientAddresses(["10.0.0.0/8"])
    for spoofed in ("1.1.1.1", "10.0.0.99", "garbage", "1.1.1.1, 2.2.2.2"):
        assert clients.of(scope(PROXY, f"{spoofed}, 198.51.100.1")) == "198.51.100.1"


def test_trusted_hops_hand_over_to_the_hop_before_them():
    clients = ClientAddresses(["10.0.0.0/8", "192.168.0.0/16"])
    # client -> CDN edge (untrusted entry point writes the client) -> 192.168 LB -> 10/8 proxy
    forwarded = "6.6.6.6, 198.51.100.1, 192.168.1.1"
    assert clients.of(scope(PROXY, forwarded)) == "198.51.100.1"


def test_when_every_hop_is_trusted_the_first_one_is_the_client():
    clients = ClientAddresses(["10.0.0.0/8"])
    assert clients.of(scope(PROXY, "10.1.1.1, 10.2.2.2")) == "10.1.1.1"


def test_a_trusted_peer_without_the_header_is_the_client():
    clients = ClientAddresses(["10.0.0.0/8"])
    assert clients.of(scope(PROXY)) == PROXY
    assert clients.of(scope(PROXY, " , ")) == PROXY


def test_several_header_lines_read_as_one_list():
    clients = ClientAddresses(["10.0.0.0/8"])
    assert clients.of(scope(PROXY, "6.6.6.6", "198.51.100.1, 10.0.0.8")) == "198.51.100.1"


def test_the_header_name_is_configurable_and_case_blind():
    clients = ClientAddresses(["10.0.0.0/8"], header="X-Real-IP")
    assert clients.of(scope(PROXY, "198.51.100.1", header="x-real-ip")) == "198.51.100.1"
    # The usual header means nothing when another one is configured.
    assert clients.of(scope(PROXY, "198.51.100.1")) == PROXY
    assert ClientAddresses(["10.0.0.0/8"], header="").of(scope(PROXY, "198.51.100.1")) == PROXY


def test_ipv6_networks_and_mapped_ipv4_peers():
    clients = ClientAddresses(["2001:db8::/32", "10.0.0.0/8"])
    assert clients.of(scope("2001:db8::1", "2001:DB8:0:0::abcd, 198.51.100.1")) == "198.51.100.1"
    # A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d.
    assert clients.of(scope("::ffff:10.0.0.5", "198.51.100.1")) == "198.51.100.1"
    assert clients.of(scope("::ffff:203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_ports_and_notations_do_not_make_a_new_client():
    clients = ClientAddresses(["10.0.0.0/8"])
    for spelling in ("198.51.100.1:5555", "198.51.100.1:6666", "198.51.100.1"):
        assert clients.of(scope(PROXY, spelling)) == "198.51.100.1"
    for spelling in ("[2001:db8::1]:443", "2001:DB8::0:1", "[2001:db8::1]"):
        assert clients.of(scope(PROXY, spelling)) == "2001:db8::1"
    assert canonical("not an address") == "not an address"


def test_no_peer_at_all_is_unknown():
    assert ClientAddresses(["10.0.0.0/8"]).of(scope(None, "198.51.100.1")) == "unknown"


def test_networks_parse_from_lists_and_comma_separated_entries():
    networks = parse_networks(["10.0.0.0/8, 192.168.1.7", "2001:db8::/32"])
    assert [str(network) for network in networks] == [
        "10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"]
    assert parse_networks(["10.1.2.3/8"])[0].with_prefixlen == "10.0.0.0/8"  # host bits


def test_a_bad_network_is_named():
    with pytest.raises(ValueError, match="'10.0.0.300'"):
        parse_networks(["10.0.0.0/8,10.0.0.300"])
