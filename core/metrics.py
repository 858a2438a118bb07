"""Prometheus metrics: one registry per app, and the recorders the kernel and plugins call.

Each app owns its `Metrics` (on `AppContext`), never the library's global registry, so two
apps in one process count apart. Code that runs inside a request records through the
module functions (`record_cache_lookup`, `record_auth_failure`, ...): they find the
metrics of the app serving the request (set by `RequestContextMiddleware`, the way the
request id is) and do nothing outside a request.

`enabled` is `[metrics] enabled`: when nothing can scrape the registry, requests are not
counted at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Route label of a request no route matched: raw paths would grow the series without bound.
UNMATCHED_ROUTE = "(unmatched)"
_CONVERTER = re.compile(r"\{([^}:]*):[^}]*\}")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_current: ContextVar[Metrics | None] = ContextVar("itube_metrics", default=None)


class Metrics:
    """The kernel's metric families, registered in a registry of their own."""

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.registry = CollectorRegistry()
        registry = self.registry
        self.requests = Counter(
            "itube_http_requests", "HTTP requests answered, by route template and status.",
            ["method", "route", "status"], registry=registry,
        )
        self.request_seconds = Histogram(
            "itube_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and status.",
            ["method", "route", "status"], buckets=LATENCY_BUCKETS, registry=registry,
        )
        self.in_flight = Gauge(
            "itube_http_requests_in_flight", "HTTP requests being answered now.",
            registry=registry,
        )
        self.cache_lookups = Counter(
            "itube_cache_lookups", "Reads of cached data: hit, miss, or error (store down).",
            ["outcome"], registry=registry,
        )
        self.status_transitions = Counter(
            "itube_video_status_transitions", "Video processing-status changes applied.",
            ["from_status", "to_status"], registry=registry,
        )
        self.rate_limit_refusals = Counter(
            "itube_rate_limit_refusals", "Requests refused by a rate limit, by limit.",
            ["limit"], registry=registry,
        )
        self.auth_failures = Counter(
            "itube_auth_failures", "Requests refused for want of a valid identity.",
            ["kind", "reason"], registry=registry,
        )
        # (connections lent out, callers waiting) of the database pool; the app points it
        # at its engine once the pool is open. Read at each scrape.
        self.pool_usage: Callable[[], tuple[int, int]] = lambda: (0, 0)
        Gauge("itube_db_pool_connections_in_use", "Database connections lent out of the pool.",
              registry=registry).set_function(lambda: self.pool_usage()[0])
        Gauge("itube_db_pool_waiting", "Callers waiting for a pooled database connection.",
              registry=registry).set_function(lambda: self.pool_usage()[1])
        # The (counter, histogram) children of each (method, route, status) seen, and the
        # counter of each cache lookup outcome: `.labels()` validates and hashes its
        # arguments on every call.
        self._request_children: dict[tuple[str, str | None, int], tuple[Any, Any]] = {}
        self._cache_lookup_children: dict[str, Any] = {}

    @contextmanager
    def serving(self) -> Iterator[None]:
        """While a request is answered: count it in flight, and route the recorders here."""
        token = self.request_started()
        try:
            yield
        finally:
            self.request_ended(token)

    def request_started(self) -> Token[Metrics | None]:
        """A request is being answered: count it in flight, and route the recorders here
        until `request_ended` is given the token returned."""
        token = _current.set(self)
        self.in_flight.inc()
        return token

    def request_ended(self, token: Token[Metrics | None]) -> None:
        self.in_flight.dec()
        _current.reset(token)

    def observe_request(self, method: str, route: str | None, status: int,
                        seconds: float) -> None:
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            labels = (method_label(method), route_label(route), str(status))
            children = (self.requests.labels(*labels), self.request_seconds.labels(*labels))
            self._request_children[key] = children
        counter, histogram = children
        counter.inc()
        histogram.observe(seconds)

    def count_cache_lookup(self, outcome: str) -> None:
        counter = self._cache_lookup_children.get(outcome)
        if counter is None:
            counter = self._cache_lookup_children[outcome] = self.cache_lookups.labels(outcome)
        counter.inc()


# The methods counted by name; any other a client sends counts as OTHER_METHOD, so
# clients cannot mint new series.
STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"


def method_label(method: str) -> str:
    return method if method in STANDARD_METHODS else OTHER_METHOD


@lru_cache(maxsize=1024)
def route_label(template: str | None) -> str:
    """`/videos/{video_id:uuid}` as `/videos/{video_id}` (the OpenAPI spelling); a request
    no route matched as `UNMATCHED_ROUTE`."""
    return _CONVERTER.sub(r"{\1}", template) if template else UNMATCHED_ROUTE


def current() -> Metrics | None:
    """The metrics of the app serving the current request, or None outside a request."""
    return _current.get()


def record_cache_lookup(outcome: str) -> None:
    """One read of cached data: `hit`, `miss` or `error`."""
    metrics = _current.get()
    if metrics is not None:
        metrics.count_cache_lookup(outcome)


def record_status_transition(old: Any, new: Any) -> None:
    """A video's processing status moved from `old` to `new` (enums or strings)."""
    metrics = _current.get()
    if metrics is not None:
        metrics.status_transitions.labels(_text(old), _text(new)).inc()


def record_rate_limit_refusal(limit: str) -> None:
    """A request went over the named limit (`login`, `register_per_email`, ...)."""
    metrics = _current.get()
    if metrics is not None:
        metrics.rate_limit_refusals.labels(limit).inc()


def record_auth_failure(kind: str, reason: str) -> None:
    """A request refused for its identity: `kind` is `user` or `service`; `reason` one of a
    few fixed words (never a message, which could quote what the client sent)."""
    metrics = _current.get()
    if metrics is not None:
        metrics.auth_failures.labels(kind, reason).inc()


def _text(value: Any) -> str:
    return str(getattr(value, "value", value))
