"""The settings classes of the kernel's config sections, and `secret()` to mark a key
whose value must never be printed."""

from __future__ import annotations

from typing import Any, Literal

import attrs


def secret(default: Any = "", **kwargs: Any) -> Any:
    """An attrs field whose value is masked wherever the config is printed."""
    return attrs.field(default=default, metadata={"secret": True}, **kwargs)


@attrs.define
class AppSection:
    # Plugins to load, in order: built-in short names (`video`), dotted module paths, or
    # entry points of the `itube.plugins` group.
    plugins: list[str] = attrs.Factory(list)
    # "production" makes plugins refuse development-only values (emulated AWS, insecure
    # cookies, the development service keys) and holds config files to the production
    # rules (`itube config check`).
    environment: Literal["development", "production"] = "development"


@attrs.define
class ServerSection:
    # Interface `itube serve` listens on (`0.0.0.0` in a container).
    host: str = "127.0.0.1"
    # Port `itube serve` listens on.
    port: int = 8000
    # uvicorn worker processes of `itube serve`; each has its own pool and in-process
    # state. Above 1 needs a shared cache (`cache_redis`): production refuses the
    # in-process one, development warns.
    workers: int = 1
    # Once started, move everything allocated so far (boto3, Piccolo, the plugins) out of
    # the garbage collector's sight (gc.freeze): full collections then walk only what
    # requests allocate; and collect the young generation every 50,000 net allocations
    # rather than 700, which the requests in flight alone outgrow. Leave on in servers;
    # tests that build many apps turn it off.
    freeze_heap_after_startup: bool = True
    # Largest request head (request line, header fields, the blank line) `itube serve`
    # reads, in bytes; beyond it a 431 `application/problem+json` and the connection is
    # closed. At least 4096. Bodies are limited separately (`[http] max_body_bytes`).
    max_header_bytes: int = 32_768
    # Most header fields one request may carry; beyond it a 431 as above.
    max_headers: int = 100
    # On SIGTERM or SIGINT, how long requests in flight may take to finish before they
    # are cancelled; at most 5 s of clean-up (shutdown hooks, closing pools) follow. Keep
    # the sum under the orchestrator's stop timeout (`docker stop` waits 10 s, ECS and
    # Kubernetes 30 s).
    graceful_shutdown_seconds: float = 5.0


@attrs.define
class DatabaseSection:
    # `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` or
    # `postgresql://user:password@host:5432/db` (`postgres://` and `postgresql+asyncpg://`
    # are accepted). Printed with the password masked.
    url: str = secret("sqlite:///itube.db")
    # PostgreSQL connections kept open per process (ignored by SQLite).
    pool_min_size: int = 1
    # Most PostgreSQL connections per process: keep `pool_max_size` times every process
    # of every container (workers included) under the server's `max_connections`.
    pool_max_size: int = 10
    # Apply pending migrations when the app starts. The embedded default does; production
    # runs `itube migrate` once per release instead.
    migrate_on_start: bool = False
    # Longest wait for a new PostgreSQL connection (TCP and the start-up handshake).
    connect_timeout_seconds: float = 3.0
    # Longest a request waits for a pooled connection (all in use, or the server gone);
    # then 503.
    pool_acquire_timeout_seconds: float = 3.0
    # Longest a statement may run: asyncpg's `command_timeout` (a frozen server never
    # answers, so the client keeps the bound) and PostgreSQL's `statement_timeout` (the
    # server stops the statement too). SQLite waits this long for another writer's lock.
    # 0 lifts the bound; `itube migrate` always runs without it (a migration may rightly
    # take minutes), while `migrate_on_start` keeps it. Behind PgBouncer, allow the
    # `statement_timeout` start-up parameter (`ignore_startup_parameters`).
    statement_timeout_seconds: float = 5.0


@attrs.define
class HttpSection:
    # Largest request body accepted, declared or streamed, in bytes; beyond it a 413
    # problem. Uploads go straight to S3, so API bodies stay small.
    max_body_bytes: int = 1_048_576
    # Origins allowed by CORS (with credentials) and by the origin check on
    # cookie-carrying unsafe requests. "*" is refused.
    cors_origins: list[str] = attrs.Factory(list)
    # Proxies in front (IP addresses or CIDR networks, e.g. the load balancer's subnets;
    # an entry may list several, comma-separated). Only a request whose peer is one of
    # them has its `client_address_header` believed; empty: the peer is the client.
    trusted_proxies: list[str] = attrs.Factory(list)
    # Where a trusted proxy writes the client's address; read right to left, skipping
    # trusted hops, so what a client writes itself is never used.
    client_address_header: str = "x-forwarded-for"


@attrs.define
class AwsSection:
    # Region of every boto3 client.
    region: str = "us-east-1"
    # Send every boto3 client here instead of AWS (an emulator, a VPC endpoint).
    endpoint_url: str = ""
    # Access key id of every client; empty: boto3's own credential chain (environment,
    # task role, instance profile).
    access_key_id: str = secret()
    # The secret access key of `access_key_id` (set both, or neither).
    secret_access_key: str = secret()
    # Session token of temporary credentials, with the two above.
    session_token: str = secret()
    # Longest wait for a connection to an AWS endpoint.
    connect_timeout_seconds: float = 2.0
    # Longest wait for an answer once connected.
    read_timeout_seconds: float = 5.0
    # Tries per call, the first included (standard retry mode: 2 tries a refused or
    # timed-out call once more). A call to an AWS that does not answer costs at most
    # `max_attempts × (connect_timeout_seconds + read_timeout_seconds)`.
    max_attempts: int = 2
    # How long /readyz reuses its last look at whether the AWS endpoints answer (0: every
    # probe looks).
    readiness_cache_seconds: float = 30.0


@attrs.define
class LoggingSection:
    # Level of every logger, ours and the libraries': DEBUG, INFO, WARNING, ERROR or
    # CRITICAL.
    level: str = "INFO"
    # One JSON line per request.
    access_log: bool = True


@attrs.define
class MetricsSection:
    # Serve Prometheus metrics at `/metrics` (docs/metrics.md). Off: the route does not exist.
    enabled: bool = False
    # Client addresses (IPs or CIDR networks, after `[http] trusted_proxies`) that may
    # scrape without a credential; any other client must sign as an internal service.
    allowed_networks: list[str] = attrs.Factory(lambda: ["127.0.0.0/8", "::1/128"])


@attrs.define
class EventsSection:
    # How often each event sink's dispatcher looks at the outbox when nothing woke it (a
    # commit in the same process wakes it at once; one in another process waits for this).
    dispatch_interval_seconds: float = 1.0
    # Most events handed to a sink at once.
    batch_size: int = 100
    # Longest pause before a sink that keeps failing is offered its batch again (the
    # pause doubles from `dispatch_interval_seconds` up to this).
    max_backoff_seconds: float = 60.0


@attrs.define
class Config:
    app: AppSection = attrs.Factory(AppSection)
    server: ServerSection = attrs.Factory(ServerSection)
    database: DatabaseSection = attrs.Factory(DatabaseSection)
    http: HttpSection = attrs.Factory(HttpSection)
    aws: AwsSection = attrs.Factory(AwsSection)
    logging: LoggingSection = attrs.Factory(LoggingSection)
    metrics: MetricsSection = attrs.Factory(MetricsSection)
    events: EventsSection = attrs.Factory(EventsSection)
    # Raw `[plugins.<name>]` tables; each is structured into its plugin's settings class.
    plugins: dict[str, dict[str, Any]] = attrs.Factory(dict)
    # Where this config came from, for error messages.
    source: str = "<defaults>"
    # Keys set by `ITUBE__...` variables (`"database.url": "ITUBE__DATABASE__URL"`).
    env_overrides: dict[str, str] = attrs.field(factory=dict, init=False)

    @property
    def is_production(self) -> bool:
        return self.app.environment == "production"
