"""What the load table measures: the targets wrk drives, and the rows comparing them.

A target is one server and one request (or a walk over many). A row divides one target's
figure by another's, measured in the same round, and names the issue's target for it.
"""

from __future__ import annotations

from typing import Literal

import attrs

from bench.servers import BASELINE

VIDEOS = "/api/v1/upload/videos"
ME = "/api/v1/auth/me"

Auth = Literal["none", "cookie", "sigv4"]


@attrs.frozen
class Target:
    name: str
    server: str
    # placeholders: {video}, {key}, {deep}, {deep_small}, {deep_keyset}, {deep_keyset_small}
    path: str
    method: str = "GET"
    auth: Auth = "none"
    # Each request of a run asks for another video (from ids no other target asks for).
    walk: bool = False
    walk_prefix: str = ""
    # A walk whose answers come from no cache that outlives a round (the in-process cache
    # starts empty with its server, the bare select has none) asks for the same ids in
    # every round; only walks through Redis need ids no earlier round asked for.
    same_ids_each_round: bool = False
    # A walk's ids come from the stage's pool of this name ("": its fresh ids); each
    # request's path is `path` with `{id}` replaced (walk_prefix + id when no path), its
    # body `body` with `{id}` replaced (none when empty).
    pool: str = ""
    body: str = ""
    # Sent with every request, after the credentials.
    headers: tuple[tuple[str, str], ...] = ()
    # wrk's connections for this target (0: the run's); fewer for a route so slow that the
    # run's would wait past wrk's timeout.
    connections: int = 0


def _get(server: str, short: str) -> Target:
    return Target(f"{short}: warm get-by-id", server, f"{VIDEOS}/{{video}}")


def _uncached(server: str, short: str, *, same_ids_each_round: bool = False) -> Target:
    return Target(f"{short}: uncached get-by-id", server, "", walk=True,
                  walk_prefix=f"{VIDEOS}/", same_ids_each_round=same_ids_each_round)


TARGETS = [
    _get("cognito", "in-process"),
    _uncached("cognito", "in-process", same_ids_each_round=True),
    Target("in-process: deep page", "cognito", f"{VIDEOS}/?limit=20&cursor={{deep}}"),
    Target("in-process: page 1", "cognito", f"{VIDEOS}/?limit=20"),
    Target("auth_cognito: /me", "cognito", ME, auth="cookie"),
    Target("auth_cognito: upload-url", "cognito", f"{VIDEOS}/upload-url", method="POST",
           auth="cookie"),
    Target("SigV4 static: by-key", "cognito", f"{VIDEOS}/by-key/{{key}}", auth="sigv4"),
    _get("cognito, access log on", "access log on"),
    _get("auth_local", "auth_local"),
    Target("auth_local: /me", "auth_local", ME, auth="cookie"),
    _get("cache_redis", "cache_redis"),
    _uncached("cache_redis", "cache_redis"),
    Target("cache_redis: auth_cognito /me", "cache_redis", ME, auth="cookie"),
    _get("cache_redis, 2 workers on core 0", "2 workers, core 0"),
    _uncached("cache_redis, 2 workers on core 0", "2 workers, core 0"),
    _get("cache_redis, 2 workers on cores 0-1", "2 workers, cores 0-1"),
    _uncached("cache_redis, 2 workers on cores 0-1", "2 workers, cores 0-1"),
    Target("small: page 44", "cognito, small database",
           f"{VIDEOS}/?limit=20&cursor={{deep_small}}"),
    Target("small: page 1", "cognito, small database", f"{VIDEOS}/?limit=20"),
    Target("bare: fixed JSON", BASELINE, "/fixed"),
    Target("bare: one Redis GET", BASELINE, "/redis"),
    Target("bare: one asyncpg PK select", BASELINE, "", walk=True, walk_prefix="/row/",
           same_ids_each_round=True),
    Target("bare: Redis GET, PK select, Redis SET NX", BASELINE, "", walk=True,
           walk_prefix="/row-through-redis/"),
    Target("bare: asyncpg keyset page", BASELINE, "/page?{deep_keyset}"),
    Target("bare: asyncpg keyset page, small database", BASELINE,
           "/small/page?{deep_keyset_small}"),
    Target("bare: boto3 presign", BASELINE, "/presign", method="POST"),
    Target("bare: lean SigV4 + select", BASELINE, f"{VIDEOS}/by-key/{{key}}", auth="sigv4"),
]
TARGET_NAMES = {target.name for target in TARGETS}


@attrs.frozen
class Row:
    """`itube` ÷ `baseline` in requests/s (or in p99 latency when `p99`), and the target:
    at least `target` (at most, for p99); `target` None is a figure without one."""

    label: str
    itube: str
    baseline: str
    target: float | None
    p99: bool = False

    def met(self, ratio: float) -> bool | None:
        if self.target is None:
            return None
        return ratio <= self.target if self.p99 else ratio >= self.target


ROWS = [
    Row("GET /auth/me with a session cookie ÷ an anonymous cached get-by-id (auth_cognito)",
        "auth_cognito: /me", "in-process: warm get-by-id", 0.85),
    Row("GET /auth/me with a session cookie ÷ an anonymous cached get-by-id (auth_local)",
        "auth_local: /me", "auth_local: warm get-by-id", 0.85),
    Row("GET /auth/me (auth_cognito) ÷ an anonymous cached get-by-id, both with cache_redis",
        "cache_redis: auth_cognito /me", "cache_redis: warm get-by-id", 0.85),
    Row("POST upload-url (signed in, auth_cognito) ÷ a bare handler doing boto3's presign "
        "(no auth)", "auth_cognito: upload-url", "bare: boto3 presign", 2.0),
    Row("warm get-by-id, in-process cache ÷ bare Starlette returning the same JSON",
        "in-process: warm get-by-id", "bare: fixed JSON", 0.8),
    Row("warm get-by-id, cache_redis ÷ bare Starlette + one Redis GET",
        "cache_redis: warm get-by-id", "bare: one Redis GET", 0.9),
    Row("uncached get-by-id, cache_redis ÷ bare Starlette + one asyncpg PK select",
        "cache_redis: uncached get-by-id", "bare: one asyncpg PK select", 0.8),
    Row("uncached get-by-id, cache_redis ÷ bare Starlette making the same round trips (a Redis "
        "GET that misses, the PK select, a Redis SET NX)",
        "cache_redis: uncached get-by-id", "bare: Redis GET, PK select, Redis SET NX", None),
    Row("uncached get-by-id, in-process cache ÷ bare Starlette + one asyncpg PK select",
        "in-process: uncached get-by-id", "bare: one asyncpg PK select", 0.8),
    Row("a deep listing page (page 1000) ÷ bare asyncpg running the same keyset query",
        "in-process: deep page", "bare: asyncpg keyset page", 0.8),
    Row("signed by-key (SigV4 static, internal_iam) ÷ a lean SigV4 check + asyncpg select",
        "SigV4 static: by-key", "bare: lean SigV4 + select", 0.85),
    Row("access log on ÷ off (warm get-by-id, in-process cache)",
        "access log on: warm get-by-id", "in-process: warm get-by-id", 0.95),
    Row("page 1000 at the large database ÷ page 44 at the small one",
        "in-process: deep page", "small: page 44", 0.8),
    Row("the bare keyset query: page 1000 at the large database ÷ page 44 at the small one "
        "(what depth and size cost PostgreSQL itself)",
        "bare: asyncpg keyset page", "bare: asyncpg keyset page, small database", None),
    Row("page 1 at the large database ÷ page 1 at the small one",
        "in-process: page 1", "small: page 1", 0.8),
    Row("2 workers (both on core 0) ÷ 1 worker: warm get-by-id, cache_redis",
        "2 workers, core 0: warm get-by-id", "cache_redis: warm get-by-id", None),
    Row("2 workers (both on core 0) ÷ 1 worker: uncached get-by-id, cache_redis",
        "2 workers, core 0: uncached get-by-id", "cache_redis: uncached get-by-id", None),
    Row("2 workers (cores 0-1, core 1 shared with wrk) ÷ 1 worker: warm get-by-id, cache_redis",
        "2 workers, cores 0-1: warm get-by-id", "cache_redis: warm get-by-id", None),
    Row("2 workers (cores 0-1, core 1 shared with wrk) ÷ 1 worker: uncached get-by-id, "
        "cache_redis", "2 workers, cores 0-1: uncached get-by-id",
        "cache_redis: uncached get-by-id", None),
]
P99_ROWS = [
    Row("p99, uncached get-by-id (cache_redis) ÷ bare asyncpg PK select",
        "cache_redis: uncached get-by-id", "bare: one asyncpg PK select", 3.0, p99=True),
    Row("p99, GET /auth/me (auth_cognito, in-process cache) ÷ bare asyncpg PK select",
        "auth_cognito: /me", "bare: one asyncpg PK select", 3.0, p99=True),
    Row("p99, GET /auth/me (auth_cognito, cache_redis) ÷ bare asyncpg PK select",
        "cache_redis: auth_cognito /me", "bare: one asyncpg PK select", 3.0, p99=True),
]
