"""One emulation for all the worker processes of one `itube serve --workers N`.

Each worker starts the app, so each would start its own emulator (the second cannot bind
a fixed port) and provision its own user pool (a session one worker made, another could
not verify). Instead the first worker to start becomes the owner: it starts the emulator,
provisions it, and publishes the resulting environment in a file named after the
supervising process; the other workers take that environment as it is. Two file locks
make this safe: the setup lock lets one worker at a time look and provision, and the owner
holds the owner lock for as long as it lives, so a file left by a dead owner is never
taken for a live one (the next worker to start becomes the owner instead).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from core.aws import AwsEnvironment

PREFIX = "itube-local-aws"


def supervisor_pid() -> int | None:
    """The pid of the server process that started this one as a worker, or None when this
    process serves alone (one worker, or an app started in-process)."""
    parent = multiprocessing.parent_process()
    return parent.pid if parent is not None else None


@attrs.define
class Ownership:
    """The owner's hold on the published environment, released when the owner stops."""

    path: Path
    setup_path: Path
    fd: int

    def release(self) -> None:
        for path in (self.path, self.setup_path):
            path.unlink(missing_ok=True)
        os.close(self.fd)


def shared_environment(
    supervisor: int, make: Callable[[], AwsEnvironment], directory: Path | None = None
) -> tuple[AwsEnvironment, Ownership | None]:
    """The environment the workers of `supervisor` share: made here by `make` (and this
    process the owner, returned with its `Ownership`) when no live worker made it yet."""
    base = Path(directory or tempfile.gettempdir())
    path = base / f"{PREFIX}-{supervisor}.json"
    setup_path = base / f"{PREFIX}-{supervisor}.lock"
    with _locked(setup_path):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a live worker owns it: its environment is complete
            try:
                return _read(fd), None
            finally:
                os.close(fd)
        try:
            environment = make()
            _write(fd, environment)
        except BaseException:
            os.close(fd)
            raise
        return environment, Ownership(path, setup_path, fd)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(fd: int, environment: AwsEnvironment) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(attrs.asdict(environment)).encode(), 0)


def _read(fd: int) -> AwsEnvironment:
    size = os.fstat(fd).st_size
    return AwsEnvironment(**json.loads(os.pread(fd, size, 0)))
