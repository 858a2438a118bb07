"""Structured JSON logs. Every line carries the request id of the request it belongs to."""

from __future__ import annotations

import contextvars
import logging
import sys
import time

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "itube_request_id", default=None
)

# LogRecord attributes that are not extra fields.
# uvicorn's `color_message` repeats `msg` with terminal colour codes.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "taskName", "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The process's one log handler: JSON lines on stderr."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        # Whatever stderr is now (a test runner swaps it), not what it was at set-up.
        self.stream = sys.stderr
        super().emit(record)


# Libraries whose own loggers would otherwise print plain text through their handlers.
_THIRD_PARTY = ("uvicorn", "uvicorn.error", "piccolo", "asyncpg", "botocore", "moto")


def configure_logging(level: str = "INFO") -> None:
    """Send every log line, ours and the libraries' (uvicorn, Piccolo, moto, boto3), and
    Python's warnings, to stderr as JSON lines (idempotent).

    One handler on the root logger: a library's logger reaches it by propagation, so a
    library never prints plain text beside our JSON.
    """
    root = logging.getLogger()
    # Handlers others installed (a test runner's capture) stay; ours is replaced.
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, JsonHandler)]
    root.addHandler(JsonHandler())
    root.setLevel(level.upper())
    for name in ("itube", *_THIRD_PARTY):
        logger = logging.getLogger(name)
        logger.handlers[:] = [h for h in logger.handlers if isinstance(h, logging.NullHandler)]
        logger.propagate = True
    logging.getLogger("itube").setLevel(level.upper())
    # uvicorn's own access log would duplicate ours and print raw query strings.
    logging.getLogger("uvicorn.access").disabled = True
    # moto's server logs each request it serves through werkzeug.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Piccolo reports a database it cannot reach with `warnings.warn`.
    logging.captureWarnings(True)
