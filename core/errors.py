"""Typed errors. Services raise these; `core.problems` renders them as RFC 9457 documents.

Nothing here imports a web framework, so services can raise them from a CLI or a worker.
"""

from __future__ import annotations

from typing import Any


class Problem(Exception):
    """An error a client may see. Subclasses fix the status and the title."""

    status: int = 500
    title: str = "Internal Server Error"
    type: str = "about:blank"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        self.headers: dict[str, str] = {}


class Unauthorized(Problem):
    status, title = 401, "Unauthorized"


class Forbidden(Problem):
    status, title = 403, "Forbidden"


class NotFound(Problem):
    status, title = 404, "Not Found"


class Conflict(Problem):
    status, title = 409, "Conflict"


class PreconditionFailed(Problem):
    """A conditional request (`If-Match`) whose condition no longer holds."""

    status, title = 412, "Precondition Failed"


class PayloadTooLarge(Problem):
    status, title = 413, "Payload Too Large"


class UnsupportedMediaType(Problem):
    status, title = 415, "Unsupported Media Type"


class ValidationFailed(Problem):
    """422 with one entry per offending field: `{"field": "title", "message": "..."}`."""

    status, title = 422, "Validation Failed"

    def __init__(self, errors: list[dict[str, str]], detail: str | None = None) -> None:
        fields = ", ".join(error["field"] for error in errors)
        super().__init__(detail or f"Invalid value for: {fields}", errors=errors)
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls([{"field": field, "message": message}])


class TooManyRequests(Problem):
    status, title = 429, "Too Many Requests"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(max(1, int(retry_after)))


class ServiceUnavailable(Problem):
    status, title = 503, "Service Unavailable"

    def __init__(self, detail: str | None = None, *, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(max(1, int(retry_after)))


class NotReady(Exception):
    """A readiness check's failure whose message is meant to be read: where `/readyz` shows
    details, it shows this message (other exceptions show their type only)."""


class ConfigError(Exception):
    """The configuration is unusable. The message names the file, the key and what was expected."""
