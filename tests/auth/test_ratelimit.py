"""The fixed-window rate limiter (`core.ratelimit`) over the cache protocol."""

from __future__ import annotations

import anyio
import pytest

from core.cache import CacheUnavailable, MemoryCache
from core.errors import TooManyRequests
from core.ratelimit import Limit, RateLimiter
from plugins.cache_redis.backend import RedisCache
from plugins.cache_redis.config import RedisCacheSettings

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(("text", "limit"), [
    ("10/minute", Limit(10, 60)), ("100 / hour", Limit(100, 3600)), ("3/30s", Limit(3, 30)),
    ("1/second", Limit(1, 1)), ("5/day", Limit(5, 86400)), ("off", None), ("OFF", None),
])
def test_limits_parse(text, limit):
    assert Limit.parse(text) == limit


@pytest.mark.parametrize("text", ["", "10", "ten/minute", "0/minute", "10/fortnight", "5/0s"])
def test_malformed_limits_are_refused(text):
    with pytest.raises(ValueError, match="10/minute"):
        Limit.parse(text)


async def test_the_limit_admits_that_many_then_refuses_with_retry_after():
    limiter = RateLimiter(MemoryCache())
    for _ in range(3):
        await limiter.hit("login", "198.51.100.1", Limit(3, 60))
    with pytest.raises(TooManyRequests) as caught:
        await limiter.hit("login", "198.51.100.1", Limit(3, 60))
    assert 1 <= int(caught.value.headers["Retry-After"]) <= 60


async def test_identities_and_scopes_count_apart():
    limiter = RateLimiter(MemoryCache())
    await limiter.hit("login", "a", Limit(1, 60))
    await limiter.hit("login", "b", Limit(1, 60))
    await limiter.hit("register", "a", Limit(1, 60))
    with pytest.raises(TooManyRequests):
        await limiter.hit("login", "a", Limit(1, 60))


async def test_no_limit_never_refuses():
    limiter = RateLimiter(MemoryCache())
    for _ in range(100):
        await limiter.hit("login", "a", None)


async def test_the_window_ends():
    limiter = RateLimiter(MemoryCache())
    await limiter.hit("login", "a", Limit(1, 1))
    with pytest.raises(TooManyRequests):
        await limiter.hit("login", "a", Limit(1, 1))
    await anyio.sleep(1.1)
    await limiter.hit("login", "a", Limit(1, 1))


async def test_keys_do_not_carry_the_identity():
    key = RateLimiter(MemoryCache(), prefix="p").key("login:email", "alice@example.com")
    assert key.startswith("p:login:email:") and "alice" not in key


class DownCache(MemoryCache):
    """A cache whose store never answers."""

    name, shared = "down", True

    async def incr(self, key: str, ttl: float) -> int:
        raise CacheUnavailable("down")

    async def ttl(self, key: str) -> float | None:
        raise CacheUnavailable("down")


async def test_with_the_store_down_limits_still_count_per_process():
    limiter = RateLimiter(DownCache())
    await limiter.hit("login", "a", Limit(2, 60))
    await limiter.hit("login", "a", Limit(2, 60))
    with pytest.raises(TooManyRequests):
        await limiter.hit("login", "a", Limit(2, 60))


async def test_processes_sharing_redis_share_the_count(redis_url, redis_prefix):
    settings = RedisCacheSettings(url=redis_url, key_prefix=redis_prefix)
    first, second = RedisCache(settings), RedisCache(settings)
    await first.open()
    await second.open()
    try:
        await RateLimiter(first).hit("login", "a", Limit(2, 60))
        await RateLimiter(second).hit("login", "a", Limit(2, 60))
        with pytest.raises(TooManyRequests):
            await RateLimiter(first).hit("login", "a", Limit(2, 60))
    finally:
        await first.close()
        await second.close()
