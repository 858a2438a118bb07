"""The replay guard every service-auth strategy uses (core.replay)."""

from __future__ import annotations

import asyncio

import pytest

from core.auth import AuthenticationFailed
from core.cache import CacheUnavailable, MemoryCache
from core.replay import ReplayGuard


class FlakyCache(MemoryCache):
    """A shared cache that can be switched off, keeping what it held."""

    name = "flaky"
    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.down = False

    async def add(self, key: str, value: bytes, ttl: float) -> bool:
        if self.down:
            raise CacheUnavailable("down")
        return await super().add(key, value, ttl)

    async def get(self, key: str) -> bytes | None:
        if self.down:
            raise CacheUnavailable("down")
        return await super().get(key)


def check(guard: ReplayGuard, method: str, signature: str = "sig") -> None:
    asyncio.run(guard.check(method, signature, ttl=60))


def test_an_unsafe_request_is_accepted_once():
    guard = ReplayGuard(FlakyCache(), namespace="test")
    check(guard, "PATCH")
    with pytest.raises(AuthenticationFailed, match="replayed request"):
        check(guard, "PATCH")
    check(guard, "PATCH", signature="another")


def test_safe_methods_may_be_retried():
    guard = ReplayGuard(FlakyCache(), namespace="test")
    for _ in range(3):
        check(guard, "GET")


def test_a_replay_is_shared_through_the_cache_across_guards():
    shared = FlakyCache()
    check(ReplayGuard(shared, namespace="test"), "POST")
    with pytest.raises(AuthenticationFailed):
        check(ReplayGuard(shared, namespace="test"), "POST")  # another process, same Redis


def test_a_signature_seen_while_the_cache_answered_is_refused_during_an_outage():
    cache = FlakyCache()
    guard = ReplayGuard(cache, namespace="test")
    check(guard, "PATCH")
    cache.down = True
    with pytest.raises(AuthenticationFailed):
        check(guard, "PATCH")


def test_a_signature_seen_during_an_outage_is_refused_after_it():
    cache = FlakyCache()
    guard = ReplayGuard(cache, namespace="test")
    cache.down = True
    check(guard, "DELETE")
    cache.down = False
    with pytest.raises(AuthenticationFailed):
        check(guard, "DELETE")
