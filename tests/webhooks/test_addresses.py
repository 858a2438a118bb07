"""SSRF: webhooks never connect to a non-public address unless allowed, checked where the
socket is opened (so a name resolving to loopback is refused too)."""

from __future__ import annotations

import ipaddress

import anyio
import httpx
import pytest

from plugins.webhooks.addresses import GuardedTransport, RefusedAddress, refusal_reason
from tests.webhooks.conftest import deliver, deliveries, endpoint, event, run_due
from tests.webhooks.receiver import running_receiver


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "a loopback address"),
    ("10.1.2.3", "a private address"),
    ("192.168.0.1", "a private address"),
    ("169.254.169.254", "a link-local address"),
    ("0.0.0.0", "an unspecified address"),
    ("224.0.0.1", "a multicast address"),
    ("240.0.0.1", "a private address"),  # reserved; Python counts it private too
    ("100.64.0.1", "not a public address"),
    ("::1", "a loopback address"),
    ("::", "an unspecified address"),
    ("fe80::1", "a link-local address"),
    ("fc00::1", "a private address"),
    ("ff02::1", "a multicast address"),
    ("::ffff:127.0.0.1", "a loopback address"),
    ("::ffff:10.0.0.1", "a private address"),
])
def test_non_public_addresses_are_refused(address, reason):
    assert refusal_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert refusal_reason(ipaddress.ip_address(address)) is None


async def post(url: str, *, allow_private: bool) -> httpx.Response:
    transport = GuardedTransport(allow_private=allow_private)
    async with httpx.AsyncClient(transport=transport, timeout=2, trust_env=False) as client:
        return await client.post(url, content=b"{}")


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]",
                                  "[::ffff:127.0.0.1]", "localhost"])
def test_the_transport_refuses_before_connecting(host):
    with running_receiver() as receiver, pytest.raises(RefusedAddress, match="refused"):
        anyio.run(lambda: post(receiver.url_for(host), allow_private=False))
    assert receiver.requests == []


def test_the_transport_connects_when_private_addresses_are_allowed():
    with running_receiver() as receiver:
        response = anyio.run(lambda: post(receiver.url_for("localhost"), allow_private=True))
    assert response.status_code == 200 and len(receiver.requests) == 1


def test_a_delivery_to_a_name_resolving_to_loopback_fails_when_not_allowed(
        make_webhooks_client, receiver):
    client = make_webhooks_client(
        endpoints={"main": endpoint(receiver.url_for("localhost"), receiver.secret)},
        allow_private_addresses=False)
    deliver(client, [event(1)])

    assert run_due(client).failed == 1

    assert receiver.requests == []
    row = deliveries(client)[0]
    assert row["last_status_code"] is None
    assert "localhost" in row["last_error"] and "loopback address; refused" in row["last_error"]
