"""`itube webhooks …`: replay events, show endpoints' states, enable an endpoint again."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

from core.config import Config
from core.errors import ConfigError
from core.health import describe_outcome
from plugins.webhooks import service
from plugins.webhooks.config import WebhooksSettings

T = TypeVar("T")
NAME = "webhooks"


def add_commands(subparsers: Any) -> None:
    group = subparsers.add_parser("webhooks", help="webhook deliveries")
    commands = group.add_subparsers(dest="webhooks_command", required=True)
    replay = commands.add_parser(
        "replay", help="send outbox events to the endpoints again",
        description="Queue every outbox event from an id (that event included) or an RFC "
        "3339 time on, for every endpoint wanting it (or one), due now; the running app's "
        "workers send them with their original webhook-id. Prints how many were queued.",
    )
    replay.add_argument("--since", required=True, metavar="ID|TIME",
                        help="an event id, or a time such as 2026-12-02T14:00:00Z")
    replay.add_argument("--endpoint", metavar="NAME", help="only this endpoint")
    replay.set_defaults(func=run_replay)
    status = commands.add_parser(
        "status", help="each endpoint's state and deliveries",
        description="Print, as JSON, each configured endpoint: disabled or not (and why), "
        "failing since when, and its deliveries pending, delivered and abandoned.")
    status.set_defaults(func=run_status)
    enable = commands.add_parser(
        "enable", help="turn a disabled endpoint back on",
        description="Enable an endpoint the workers disabled after sustained failure.")
    enable.add_argument("name", help="the endpoint's name")
    enable.set_defaults(func=run_enable)


def run_replay(args: argparse.Namespace) -> int:
    try:
        from_id, since = service.parse_since(args.since)
    except ValueError as exc:
        print(f"itube webhooks replay: {exc}", file=sys.stderr)
        return 2
    queued = _run(args, "replay", lambda settings: service.replay(
        settings, from_id=from_id, since=since, endpoint=args.endpoint))
    if queued is None:
        return 1
    print(json.dumps({"queued": queued}))
    return 0


def run_status(args: argparse.Namespace) -> int:
    report = _run(args, "status", service.status)
    if report is None:
        return 1
    print(json.dumps(report, indent=2))
    return 0


def run_enable(args: argparse.Namespace) -> int:
    enabled = _run(args, "enable", lambda settings: service.enable(settings, args.name))
    if enabled is None:
        return 1
    print(json.dumps({"endpoint": args.name, "enabled_again": enabled}))
    return 0


def _run(args: argparse.Namespace, command: str,
         work: Callable[[WebhooksSettings], Awaitable[T]]) -> T | None:
    """Start the app (database and plugins, without this process's delivery worker), do
    `work`, stop it; None after one line on stderr when something did not answer."""
    from core.app import create_app  # the CLI only: loading the app's plugins is not free
    from core.config import load_config
    from core.log import configure_logging

    config = without_worker(load_config(args.config))
    configure_logging(config.logging.level)

    async def started() -> T:
        app = create_app(config)
        async with app.router.lifespan_context(app):
            return await work(app.state.ctx.settings(NAME))

    try:
        return asyncio.run(started())
    except ConfigError:
        raise
    except service.UnknownEndpoint as exc:
        print(f"itube webhooks {command}: no endpoint {exc} is configured (and on)",
              file=sys.stderr)
    except Exception as exc:
        reason = describe_outcome(exc, detailed=True).removeprefix("failing: ")
        print(f"itube webhooks {command}: {reason}", file=sys.stderr)
    return None


def without_worker(config: Config) -> Config:
    """The config with the app's delivery worker off: a command only touches the queue."""
    section = {**config.plugins.get(NAME, {}), "poll_seconds": 0}
    return attrs.evolve(config, plugins={**config.plugins, NAME: section})
