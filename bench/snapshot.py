"""The code under test, copied when the run starts: servers started later in the run run
the same code even while the checkout changes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.processes import ROOT

PACKAGES = ["core", "plugins", "bench", "tests/support"]


def snapshot(folder: Path) -> Path:
    """A copy of the packages the servers import, under `folder`."""
    code = folder / "code"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, code / package, ignore=ignore)
    (code / "tests" / "__init__.py").touch()
    return code


def describe() -> str:
    """The commit measured, and whether the packages had uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip()

    commit = git("log", "-1", "--format=%h %s") or "unknown commit"
    changed = git("status", "--porcelain", "--", "core", "plugins").splitlines()
    if not changed:
        return f"commit {commit}"
    return (f"commit {commit}, with uncommitted changes to {len(changed)} files of core/ "
            "and plugins/")
