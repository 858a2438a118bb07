"""The cache contract, run against every backend: in-process, Redis, and the security
wrapper `LocalFallback` over each."""

from __future__ import annotations

import pytest

from core.cache import LocalFallback, MemoryCache
from plugins.cache_redis.backend import RedisCache
from plugins.cache_redis.config import RedisCacheSettings
from tests.cache.contract import CacheContract

pytestmark = pytest.mark.anyio


async def open_redis(url: str, prefix: str) -> RedisCache:
    # A healthy Redis on a busy machine: the contract is about answers, not timeouts (those
    # are test_faults.py's business), so no call may time out here.
    backend = RedisCache(RedisCacheSettings(url=url, key_prefix=prefix,
                                            socket_timeout_seconds=2.0,
                                            connect_timeout_seconds=2.0))
    await backend.open()
    return backend


class TestMemoryCache(CacheContract):
    @pytest.fixture
    async def cache(self):
        cache = MemoryCache()
        yield cache
        await cache.close()


class TestRedisCache(CacheContract):
    @pytest.fixture
    async def cache(self, redis_url, redis_prefix):
        backend = await open_redis(redis_url, redis_prefix)
        yield backend
        await backend.close()


class TestLocalFallbackOverMemory(CacheContract):
    @pytest.fixture
    async def cache(self):
        cache = LocalFallback(MemoryCache())
        yield cache
        await cache.close()


class TestLocalFallbackOverRedis(CacheContract):
    @pytest.fixture
    async def cache(self, redis_url, redis_prefix):
        backend = await open_redis(redis_url, redis_prefix)
        yield LocalFallback(backend)
        await backend.close()
