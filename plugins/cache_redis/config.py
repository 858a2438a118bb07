"""Settings of the Redis cache backend (`[plugins.cache_redis]`)."""

from __future__ import annotations

import attrs

from core.config import secret


@attrs.define
class RedisCacheSettings:
    # `redis://[user:password@]host:port/db` or `rediss://...` (TLS). When set, it wins over
    # host, port, db, username, password and ssl.
    url: str = secret("")
    # Where Redis listens (production.toml reads REDIS_HOST).
    host: str = "127.0.0.1"
    # Redis's port (production.toml reads REDIS_PORT).
    port: int = 6379
    # The Redis database number.
    db: int = 0
    # ACL user (leave it and `password` empty for an unauthenticated Redis).
    username: str = ""
    # ACL password, or the `requirepass` of a Redis without ACL users.
    password: str = secret("")
    # Connect over TLS (managed Redis with in-transit encryption).
    ssl: bool = False
    # Every key is `{key_prefix}:v{schema_version}:{key}`: several deployments can share one
    # Redis under different prefixes (no `:` in it).
    key_prefix: str = "itube"
    # Bump it when the shape of cached values changes: the new version never reads stale
    # entries of the old one.
    schema_version: int = 1
    # Longest wait for Redis to answer a command: a hung Redis costs a request this long at
    # most, never seconds.
    socket_timeout_seconds: float = 0.25
    # Longest wait for a new connection to Redis (a down Redis fails fast too).
    connect_timeout_seconds: float = 0.25
    # After a failure Redis is left alone this long; then one call probes it again.
    breaker_open_seconds: float = 5.0
    # Upper bound of the per-app connection pool.
    max_connections: int = 256
    # Size of the per-process store that answers add/incr/ttl while Redis is down
    # (rate-limit counters, replay caches); 0 turns that fallback off.
    local_fallback_entries: int = 10_000


def settings_problems(settings: RedisCacheSettings) -> list[str]:
    """Values that parse but cannot work."""
    problems = []
    if not settings.key_prefix or ":" in settings.key_prefix:
        problems.append("plugins.cache_redis.key_prefix: must be non-empty, without ':'")
    if settings.schema_version < 1:
        problems.append("plugins.cache_redis.schema_version: must be 1 or more")
    for name in ("socket_timeout_seconds", "connect_timeout_seconds", "breaker_open_seconds"):
        if getattr(settings, name) <= 0:
            problems.append(f"plugins.cache_redis.{name}: must be more than 0")
    if settings.max_connections < 1:
        problems.append("plugins.cache_redis.max_connections: must be 1 or more")
    if settings.local_fallback_entries < 0:
        problems.append("plugins.cache_redis.local_fallback_entries: must be 0 or more")
    if settings.url and not settings.url.startswith(("redis://", "rediss://", "unix://")):
        problems.append("plugins.cache_redis.url: expected redis://, rediss:// or unix://")
    return problems
