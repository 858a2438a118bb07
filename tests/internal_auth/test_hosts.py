"""`expected_hosts` matching (core.hosts), shared by every strategy that signs the Host
header: a bare name matches any port, `name:port` that port only, names compare
case-insensitively, and nothing else (no wildcards, no suffixes, no second Host) is ever
accepted."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import hosts

EXPECTED = ["localhost", "127.0.0.1", "API.example.com:8443", "[::1]", "10.0.0.5:08000"]


@pytest.mark.parametrize("received", [
    "localhost", "localhost:8000", "LocalHost:9000", "127.0.0.1:8000", "127.0.0.1",
    "api.example.com:8443", "API.EXAMPLE.COM:8443", "[::1]:8000", "[::1]", "10.0.0.5:8000",
])
def test_accepted(received: str):
    assert hosts.ExpectedHosts.parse(EXPECTED).allows(received)


@pytest.mark.parametrize("received", [
    None, "", "api.example.com", "api.example.com:443", "api.example.com:8444",
    "evil.localhost", "localhost.evil.example", "localhost.", "127.0.0.2:8000",
    "10.0.0.5", "10.0.0.5:8001", "localhost,evil.example", "localhost evil", "localhost:",
    "localhost:99999", "[::2]:8000", "::1",
])
def test_refused(received: str | None):
    assert not hosts.ExpectedHosts.parse(EXPECTED).allows(received)


def test_one_entry_may_hold_several_names():
    expected = hosts.ExpectedHosts.parse(["api.example.com, api.internal.example.com:8000"])
    assert expected.allows("api.example.com:1234")
    assert expected.allows("api.internal.example.com:8000")
    assert not expected.allows("api.internal.example.com")


@pytest.mark.parametrize("entry", ["*", "*.example.com", "http://api.example.com", "a/b",
                                   "api.example.com:0", "-api.example.com"])
def test_what_is_not_a_host_is_refused(entry: str):
    with pytest.raises(ValueError, match="is not a host name"):
        hosts.ExpectedHosts.parse(["api.example.com", entry])


HOSTS = ["testserver", "TestServer:8000", "api.example:8443", "api.example", "staging.example",
         "testserver,staging.example", "testserver:", "", None]


@given(st.lists(st.sampled_from(HOSTS), max_size=12))
def test_a_remembered_host_answer_is_the_expected_hosts_answer(received: list[str | None]):
    expected = hosts.ExpectedHosts.parse(["testserver", "api.example:8443"])
    remembered = [expected.allows(host) for host in received]
    hosts.split_host.cache_clear()
    assert remembered == [expected.allows(host) for host in received]
    assert [hosts.split_host(host or "") for host in received] == [
        hosts.split_host.__wrapped__(host or "") for host in received]
