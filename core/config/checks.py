"""What is wrong with a well-typed config: the kernel's rules, production's rules, and the
list of problems that gathers them."""

from __future__ import annotations

from collections.abc import Iterable

from core.clients import parse_networks
from core.config.masking import mask_url, redact
from core.config.sections import Config, ServerSection


class Problems:
    """Every problem of one config, one line each, in the order found.

    A key whose value could not be read (a missing variable) is reported once: later
    complaints about the empty value left in its place would only repeat it.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []
        # key -> line, for values that could not be read (see `resolve_env_references`).
        self.unresolved: dict[str, str] = {}

    def add_lines(self, lines: Iterable[str]) -> None:
        """Lines already formatted `SOURCE: KEY...`."""
        self.lines += [line for line in lines if not self._repeats_unresolved(line)]

    def extend(self, problems: Iterable[str], secrets: Iterable[str] = ()) -> None:
        """Problems written `KEY: what is wrong` (a plugin's `config_problems`); secrets
        are masked: a message might quote a value it should not."""
        texts = list(secrets)
        self.add_lines(f"{self.source}: {redact(problem, texts)}" for problem in problems)

    def _repeats_unresolved(self, line: str) -> bool:
        text = line.removeprefix(f"{self.source}: ")
        return any(
            text.startswith(key) and text[len(key):len(key) + 1] in {":", " ", ".", "[", "="}
            for key in self.unresolved
        )

    def all(self) -> list[str]:
        return [*self.unresolved.values(), *self.lines]

    def __bool__(self) -> bool:
        return bool(self.unresolved or self.lines)

    def __str__(self) -> str:
        return "\n".join(self.all())


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def core_problems(config: Config) -> list[str]:
    """The kernel's values that are well-typed but unusable, each `KEY: what is wrong`."""
    database, http, server = config.database, config.http, config.server
    problems = []
    if "*" in http.cors_origins:
        problems.append("http.cors_origins: '*' is not allowed with credentials; list the origins")
    if not database.url.startswith(("sqlite://", "postgres://", "postgresql://", "postgresql+")):
        problems.append(
            "database.url: expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB, "
            f"got {mask_url(database.url)!r}"
        )
    if not 0 <= database.pool_min_size <= database.pool_max_size or database.pool_max_size < 1:
        problems.append(
            "database.pool_min_size, pool_max_size: expected 0 <= min <= max and max >= 1, "
            f"got {database.pool_min_size} and {database.pool_max_size}"
        )
    for key, zero_allowed in (
        ("database.connect_timeout_seconds", False),
        ("database.pool_acquire_timeout_seconds", False),
        ("database.statement_timeout_seconds", True),
        ("aws.connect_timeout_seconds", False),
        ("aws.read_timeout_seconds", False),
        ("aws.readiness_cache_seconds", True),
    ):
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value < 0 or (value == 0 and not zero_allowed):
            expected = "0 or more" if zero_allowed else "more than 0"
            problems.append(f"{key}: expected {expected}, got {value}")
    if config.aws.max_attempts < 1:
        problems.append(f"aws.max_attempts: expected at least 1, got {config.aws.max_attempts}")
    for key, networks in (("http.trusted_proxies", http.trusted_proxies),
                          ("metrics.allowed_networks", config.metrics.allowed_networks)):
        try:
            parse_networks(networks)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if http.max_body_bytes < 1:
        problems.append(f"http.max_body_bytes: expected a positive int, got {http.max_body_bytes}")
    problems += _server_problems(server)
    if config.logging.level.upper() not in LOG_LEVELS:
        problems.append(
            f"logging.level: expected one of {', '.join(LOG_LEVELS)}, got {config.logging.level!r}"
        )
    return problems


# AWS secret access keys are 40 characters long.
AWS_SECRET_KEY_CHARS = 40
_LOCAL_ORIGINS = ("localhost", "127.", "[::1]", "0.0.0.0")


def production_problems(config: Config) -> list[str]:
    """Values fine on a developer's machine that a production deployment must not run with.
    Only files are held to them (`load_config`): code and tests build production configs
    on SQLite to exercise production behaviour."""
    problems = []
    if config.database.url.startswith("sqlite"):
        problems.append("database.url: SQLite is for development and tests; production needs "
                        "postgresql://USER:PASSWORD@HOST/DB")
    for origin in config.http.cors_origins:
        host = origin.partition("://")[2]
        if origin.lower() == "null" or host.lower().startswith(_LOCAL_ORIGINS):
            problems.append(f"http.cors_origins: {origin!r} is a development origin; list the "
                            "web clients' public origins (https://...)")
    if not config.http.trusted_proxies:
        problems.append(
            f"http.trusted_proxies: empty, yet clients' addresses are read from "
            f"{config.http.client_address_header!r}: list the load balancer's networks, or "
            "every client shares its address (rate limits)"
        )
    aws = config.aws
    if bool(aws.access_key_id) != bool(aws.secret_access_key):
        problems.append("aws.access_key_id, aws.secret_access_key: set both, or neither (the "
                        "task or instance role)")
    elif aws.secret_access_key and len(aws.secret_access_key) != AWS_SECRET_KEY_CHARS:
        problems.append(f"aws.secret_access_key: an AWS secret access key is "
                        f"{AWS_SECRET_KEY_CHARS} characters long, got "
                        f"{len(aws.secret_access_key)}")
    return problems


# Smaller cannot hold an ordinary request line, Host and a session cookie.
MIN_HEADER_BYTES = 4096


def _server_problems(server: ServerSection) -> list[str]:
    problems = []
    if not 0 <= server.port <= 65535:
        problems.append(f"server.port: expected 0-65535, got {server.port}")
    if server.workers < 1:
        problems.append(f"server.workers: expected at least 1, got {server.workers}")
    if server.max_header_bytes < MIN_HEADER_BYTES:
        problems.append(
            f"server.max_header_bytes: expected at least {MIN_HEADER_BYTES}, "
            f"got {server.max_header_bytes}"
        )
    if server.max_headers < 1:
        problems.append(f"server.max_headers: expected at least 1, got {server.max_headers}")
    if server.graceful_shutdown_seconds < 0:
        problems.append(
            "server.graceful_shutdown_seconds: expected 0 or more, "
            f"got {server.graceful_shutdown_seconds}"
        )
    return problems
