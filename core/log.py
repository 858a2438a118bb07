"""Structured JSON logs. Every line carries the request id of the request it belongs to.

Lines are formatted and written by a thread of their own (`LogWriter`), fed through a
queue: a request only hands its records over. The thread writes whatever has queued up
in one write, and drains the queue when the process stops, so a clean stop loses nothing.
The access log's line per request is queued as a tuple of its values (`log_access`): the
writer makes a `LogRecord` of it only when another handler or a filter is on its way.
"""

from __future__ import annotations

import atexit
import collections
import contextvars
import logging
import os
import random
import sys
import threading
import time
from typing import TextIO

import orjson

# An access line as `log_access` queues it: moment, request id, method, route template,
# status, seconds taken and principal.
AccessLine = tuple[float, "str | None", str, str, int, float, "str | None"]

access_log = logging.getLogger("itube.access")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "itube_request_id", default=None
)

# LogRecord attributes that are not extra fields.
# uvicorn's `color_message` repeats `msg` with terminal colour codes.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "taskName", "color_message", "request_id",
}


def new_request_id() -> str:
    """32 random hex digits. A label, not a secret: no system call (which would hand the
    interpreter to another thread mid-request)."""
    return f"{random.getrandbits(128):032x}"  # noqa: S311


# The last second written and its text: most lines share their second with the last one.
_last_second: tuple[int, str] = (-1, "")
# Each millisecond's ending, looked up rather than formatted once per line.
_MILLISECONDS = [f".{millisecond:03d}Z" for millisecond in range(1000)]


def timestamp(created: float) -> str:
    """ISO 8601 UTC to the millisecond, as every line carries it."""
    global _last_second
    second = int(created)
    last, text = _last_second
    if second != last:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _last_second = (second, text)
    return text + _MILLISECONDS[int((created - second) * 1000)]


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": timestamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        # Taken when the record was queued (`QueuedJsonHandler`), else now.
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        return orjson.dumps(line, default=str).decode()


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """JSON lines on stderr, written by the thread that logs."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        # Whatever stderr is now (a test runner swaps it), not what it was at set-up.
        self.stream = sys.stderr
        super().emit(record)


class QueuedJsonHandler(JsonHandler):
    """The process's one log handler: hands each record to the `LogWriter` thread, with
    what only the logging thread knows (its request id, its message, its traceback)."""

    def __init__(self, writer: LogWriter) -> None:
        super().__init__()
        self.writer = writer
        self.json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.put(self._prepared(record))
        except Exception:
            self.handleError(record)

    def _prepared(self, record: logging.LogRecord) -> logging.LogRecord:
        exc_info = record.exc_info
        if exc_info:
            # Another handler may still want the traceback object: format a copy.
            record = logging.makeLogRecord(vars(record))
            record.exc_text = self.json.formatException(exc_info)
            record.exc_info = None
        record.request_id = record.__dict__.get("request_id") or request_id_var.get()
        # The arguments may change after this call returns: the message is made now.
        record.msg = record.getMessage()
        record.args = None
        return record


class LogWriter:
    """The thread that formats queued records as JSON lines and writes them to stderr:
    every `interval` seconds, whatever has queued up, in one write. It wakes on a timer,
    never per record: a record handed over costs the request an append, not a switch
    of threads.

    An access line (`put_access`) is written as it is when `itube.access` reaches no
    handler but ours, else made a record and handed to that logger, here: which, is
    decided once a batch, off the request's path (docs/decisions.md)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.formatter = JsonFormatter()
        # Each record with the stderr of its moment (a test runner swaps it).
        self.records: collections.deque[tuple[logging.LogRecord | AccessLine, TextIO]] = (
            collections.deque())
        self.stopping = threading.Event()
        # One drain at a time: two would interleave their lines.
        self.draining = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="itube-log-writer", daemon=True)
        self.thread.start()

    def put(self, record: logging.LogRecord) -> None:
        self.records.append((record, sys.stderr))

    def put_access(self, line: AccessLine) -> None:
        self.records.append((line, sys.stderr))

    def flush(self) -> None:
        """Write every line queued so far, now, from the calling thread."""
        with self.draining:
            self._write_queued()

    def stop(self) -> None:
        """Write every line queued so far, then end the thread (idempotent)."""
        self.stopping.set()
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.flush()
        self.flush()

    def _write_queued(self) -> None:
        lines: dict[TextIO, list[str]] = {}
        stream: TextIO | None = None
        batch: list[str] = []
        access_reaches_only_us = _only_writer(access_log) is self
        while self.records:
            record, to = self.records.popleft()
            if to is not stream:
                stream, batch = to, lines.setdefault(to, [])
            try:
                text = self._text(record, access_reaches_only_us)
            except Exception:
                if isinstance(record, logging.LogRecord):
                    logging.Handler().handleError(record)
                continue
            if text is not None:
                batch.append(text)
        for stream, texts in lines.items():
            if not texts:
                continue  # each of its lines was handed to a logger instead
            try:
                stream.write("\n".join(texts) + "\n")
                stream.flush()
            except (OSError, ValueError):
                pass  # stderr is gone (closed by a test runner): nowhere left to write

    def _text(self, record: logging.LogRecord | AccessLine,
              access_reaches_only_us: bool) -> str | None:
        """`record`'s line; None when it was handed to its logger instead."""
        if isinstance(record, logging.LogRecord):
            return self.formatter.format(record)
        if access_reaches_only_us:
            return _access_text(*record)
        # Its record may come back through our handler, to this same loop.
        access_log.handle(_access_record(*record))
        return None


def _milliseconds(seconds: float) -> float:
    """To the hundredth of a millisecond, as `round(ms, 2)` would: a fifth of its cost."""
    return int(seconds * 100_000 + 0.5) / 100


def _access_text(created: float, request_id: str | None, method: str, route: str,
                 status: int, seconds: float, principal: str | None) -> str:
    """The line `JsonFormatter` makes of `_access_record(...)`."""
    # Text at once: orjson's bytes, kept alive by the thousand, cost a reallocation each.
    return orjson.dumps({"ts": timestamp(created), "level": "INFO", "logger": "itube.access",
                         "msg": "request", "request_id": request_id, "method": method,
                         "route": route, "status": status,
                         "duration_ms": _milliseconds(seconds), "principal": principal},
                        default=str).decode()


def _access_record(created: float, request_id: str | None, method: str, route: str,
                   status: int, seconds: float, principal: str | None) -> logging.LogRecord:
    fields = {"request_id": request_id, "method": method, "route": route, "status": status,
              "duration_ms": _milliseconds(seconds), "principal": principal}
    # Made directly: `Logger.info` would walk the stack to find its caller.
    record = access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, "request", (),
                                   None, extra=fields)
    record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
    return record


_writer: LogWriter | None = None


def log_access(method: str, route: str, status: int, seconds: float,
               principal: str | None) -> None:
    """A request's line on `itube.access` ("request", at INFO), made cheaply: its values
    are queued for the writer, and become a `LogRecord` only when another handler or a
    filter is on the line's way (a test's capture, an operator's configuration), which
    then receive it from the writer's thread within its interval. Without a writer, a
    record now."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    line = (time.time(), request_id_var.get(), method, route, status, seconds, principal)
    writer = _writer
    if writer is None:
        access_log.handle(_access_record(*line))
    else:
        writer.put_access(line)


def _only_writer(logger: logging.Logger) -> LogWriter | None:
    """The writer of the one handler `logger`'s lines reach, when that handler is ours and
    nothing on the way filters them; else None."""
    found: QueuedJsonHandler | None = None
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters or current.disabled:
            return None
        for handler in current.handlers:
            if found is not None or not isinstance(handler, QueuedJsonHandler):
                return None
            found = handler
        current = current.parent if current.propagate else None
    if found is None or found.filters or found.level > logging.INFO:
        return None
    return found.writer


def _start_writer() -> LogWriter:
    global _writer
    if _writer is None:
        _writer = LogWriter()
    return _writer


def flush_logging() -> None:
    """Write every line queued so far, now: its records reach every handler."""
    if _writer is not None:
        _writer.flush()


def stop_logging() -> None:
    """Write every queued line and end the writer thread; logging afterwards starts a
    new one (`configure_logging`). Runs at exit."""
    global _writer
    writer, _writer = _writer, None
    if writer is not None:
        writer.stop()
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, QueuedJsonHandler)]


def _after_fork_in_child() -> None:
    # The writer thread does not survive a fork: the child writes through its own.
    global _writer
    if _writer is not None:
        _writer = None
        writer = _start_writer()
        for handler in logging.getLogger().handlers:
            if isinstance(handler, QueuedJsonHandler):
                handler.writer = writer


atexit.register(stop_logging)
os.register_at_fork(after_in_child=_after_fork_in_child)


# Libraries whose own loggers would otherwise print plain text through their handlers.
_THIRD_PARTY = ("uvicorn", "uvicorn.error", "piccolo", "asyncpg", "botocore", "moto")


def configure_logging(level: str = "INFO") -> None:
    """Send every log line, ours and the libraries' (uvicorn, Piccolo, moto, boto3), and
    Python's warnings, to stderr as JSON lines, written off the logging thread
    (idempotent; `stop_logging` writes what is queued, and runs at exit).

    One handler on the root logger: a library's logger reaches it by propagation, so a
    library never prints plain text beside our JSON.
    """
    root = logging.getLogger()
    # Handlers others installed (a test runner's capture) stay; ours is replaced.
    root.handlers[:] = [h for h in root.handlers if not isinstance(h, JsonHandler)]
    root.addHandler(QueuedJsonHandler(_start_writer()))
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
