"""`itube`: serve, config check, plugins, migrate, and commands contributed by plugins."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import attrs

from core import db
from core.app import create_app, piccolo_apps, prepare
from core.config import load_config, masked
from core.context import AppContext
from core.errors import ConfigError
from core.log import configure_logging
from core.plugins import describe_plugins, make_plugin_manager


class UsageError(Exception):
    """A command was asked for something it cannot do; the message says why."""


def _load(args: argparse.Namespace) -> AppContext:
    return prepare(load_config(args.config))


def _build(args: argparse.Namespace) -> AppContext:
    """Everything start-up refuses without starting anything: the config, the plugins and
    their settings, the routes."""
    app = create_app(load_config(args.config))
    ctx: AppContext = app.state.ctx
    return ctx


def cmd_serve(args: argparse.Namespace) -> int:
    from core.server import exit_on_stop_signals, serve

    with exit_on_stop_signals():
        ctx = _build(args)  # a bad config stops here, before a port is taken
    configure_logging(ctx.config.logging.level)
    if args.config:
        os.environ["ITUBE_CONFIG"] = args.config  # what core.asgi reads in the server
    server = ctx.config.server
    return serve(
        ctx.config,
        host=args.host or server.host,
        port=server.port if args.port is None else args.port,
        workers=args.workers or server.workers,
    )


def cmd_config_check(args: argparse.Namespace) -> int:
    ctx = _build(args)
    effective: dict[str, Any] = masked(ctx.config)
    effective["plugins"] = {name: masked(value) for name, value in ctx.plugin_settings.items()}
    print(json.dumps(effective, indent=2, default=str))
    print(f"config OK: {ctx.config.source}", file=sys.stderr)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    described = describe_plugins(_load(args).pm)
    if args.json:
        print(json.dumps(described, indent=2))
        return 0
    for plugin in described:
        print(f"{plugin['name']} {plugin['version'] or '(no version)'}  [{plugin['module']}]")
        print(f"    hooks: {', '.join(plugin['hooks']) or '(none)'}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    ctx = _load(args)
    return asyncio.run(_migrate(ctx, args))


async def _migrate(ctx: AppContext, args: argparse.Namespace) -> int:
    # A migration may rightly run for minutes (an index on a large table): the statement
    # bound that protects requests does not apply to it.
    engine = db.make_engine(attrs.evolve(ctx.config.database, statement_timeout_seconds=0.0))
    apps = piccolo_apps(ctx.pm)
    db.bind(engine, apps)
    await db.open_pool(engine, ctx.config.database)
    try:
        if args.direction == "forwards":
            ran = await db.migrate_forwards(apps)
            print("\n".join(ran) or "nothing to migrate")
        elif args.direction == "backwards":
            if not args.app:
                known = ", ".join(app.app_name for app in apps) or "none"
                raise UsageError(f"migrate backwards needs --app NAME (one of: {known})")
            try:
                reversed_ids = await db.migrate_backwards(apps, args.app, args.steps)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
            print("\n".join(reversed_ids) or "nothing to reverse")
        else:
            pending = {app: ids for app, ids in (await db.pending_migrations(apps)).items() if ids}
            for app, ids in pending.items():
                print(f"{app}: {len(ids)} pending: {', '.join(ids)}")
            print("up to date" if not pending else "migrations pending", file=sys.stderr)
            return 1 if pending else 0
    finally:
        await db.close_pool(engine)
    return 0


def build_parser(plugin_names: Sequence[str] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="itube", description="The itube video platform API.")
    parser.add_argument("--config", default=None,
                        help="TOML config file (default: $ITUBE_CONFIG or config/default.toml)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)

    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    config_commands.add_parser("check", help="print the effective config, secrets masked"
                               ).set_defaults(func=cmd_config_check)

    plugins = commands.add_parser("plugins", help="list loaded plugins and their hooks")
    plugins.add_argument("--json", action="store_true", help="print JSON")
    plugins.set_defaults(func=cmd_plugins)

    migrate = commands.add_parser("migrate", help="database migrations")
    migrate.add_argument("direction", nargs="?", default="forwards",
                         choices=["forwards", "backwards", "check"])
    migrate.add_argument("--app", help="with backwards: the Piccolo app (plugin) to reverse")
    migrate.add_argument("--steps", type=int, default=1)
    migrate.set_defaults(func=cmd_migrate)

    make_plugin_manager(plugin_names).hook.register_commands(subparsers=commands)
    return parser


def _take_config(argv: list[str]) -> str | None:
    """Remove `--config PATH` (or `--config=PATH`) from anywhere on the line and return
    PATH: plugins may add sub-commands, so the config must be read before parsing."""
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            value = argv[index + 1]
            del argv[index : index + 2]
            return value
        if arg.startswith("--config="):
            del argv[index]
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    config_path = _take_config(argv)
    try:
        names = load_config(config_path).app.plugins
    except ConfigError:
        names = []  # reported properly by the command itself
    try:
        args = build_parser(names).parse_args(argv)
        args.config = config_path
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"itube: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
