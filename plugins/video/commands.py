"""`itube videos …`: the video plugin's maintenance commands, and what they share."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from core.errors import ConfigError
from core.health import describe_outcome

T = TypeVar("T")


def add_commands(subparsers: Any) -> Any:
    """The `videos` command group; each maintenance module adds its command to it."""
    from plugins.video import search_command
    from plugins.video.deletion import worker
    from plugins.video.janitor import task as janitor

    videos = subparsers.add_parser("videos", help="video maintenance")
    commands = videos.add_subparsers(dest="videos_command", required=True)
    worker.add_command(commands)
    search_command.add_command(commands)
    janitor.add_command(commands)
    return commands


def run_started(command: str, run: Callable[[], T]) -> T | None:
    """`run()`, which starts what the command needs; None after one line on stderr when a
    dependency did not answer (never a traceback). A refused config goes up to the CLI,
    which says so as for every command."""
    try:
        return run()
    except ConfigError:
        raise
    except Exception as exc:
        reason = describe_outcome(exc, detailed=True).removeprefix("failing: ")
        print(f"itube videos {command}: start-up failed: {reason}", file=sys.stderr)
        return None
