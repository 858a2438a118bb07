"""`itube`: serve, config check, plugins, migrate, and commands contributed by plugins."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import asyncpg
import attrs

from core import __version__, db
from core.app import create_app, inspect_plugins, piccolo_apps, prepare, process_cache_problem
from core.config import (
    Config,
    inspect_config,
    load_config,
    mask_url,
    masked,
    redact,
    secret_texts_of,
)
from core.context import AppContext
from core.errors import ConfigError
from core.health import describe_outcome
from core.log import configure_logging
from core.plugins import describe_plugins, make_plugin_manager

log = logging.getLogger("itube.cli")

# Exit statuses (docs/operations.md); `itube serve` adds core.server's 3 (start-up failed).
EXIT_OK = 0
EXIT_PROBLEMS = 1  # a dependency does not answer, or migrations are pending
EXIT_REFUSED = 2  # the config is refused, or the command line is wrong


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
    server = ctx.config.server
    workers = args.workers or server.workers
    _check_workers(ctx, workers)
    if args.config:
        os.environ["ITUBE_CONFIG"] = args.config  # what core.asgi reads in the server
    return serve(
        ctx.config,
        host=args.host or server.host,
        port=server.port if args.port is None else args.port,
        workers=workers,
    )


def _check_workers(ctx: AppContext, workers: int) -> None:
    """Several workers each keeping their own in-process cache would serve entries another
    worker has already invalidated: refused in production, a warning in development."""
    problem = process_cache_problem(ctx.pm, workers)
    if problem is None:
        return
    if ctx.config.is_production:
        raise ConfigError(f"{ctx.config.source}: {problem}")
    log.warning(problem)


def cmd_config_check(args: argparse.Namespace) -> int:
    config, problems = inspect_config(args.config)
    try:
        _, lines = inspect_plugins(config, problems=problems)
    except ConfigError as exc:  # a plugin that cannot be loaded: nothing of it can be checked
        lines = [*problems.all(), *str(exc).splitlines()]
    if lines:
        count = f"{len(lines)} problem" + ("s" if len(lines) > 1 else "")
        raise ConfigError("\n".join([*lines, f"{count} in {config.source}"]))
    ctx = _build(args)  # what only a built app shows: routes two plugins both declare
    _check_workers(ctx, ctx.config.server.workers)
    effective: dict[str, Any] = masked(ctx.config)
    effective["plugins"] = {name: masked(value) for name, value in ctx.plugin_settings.items()}
    print(json.dumps(effective, indent=2, default=str))
    if args.connect:
        configure_logging(ctx.config.logging.level)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Piccolo's colour warning: the line below says it
            failures = asyncio.run(_connection_failures(ctx.config))
        for line in failures:
            print(line, file=sys.stderr)
        if failures:
            return EXIT_PROBLEMS
    print(f"config OK: {ctx.config.source}", file=sys.stderr)
    return EXIT_OK


def cmd_config_reference(args: argparse.Namespace) -> int:
    from pathlib import Path

    from core.config_reference import reference, write

    # Only a config named on the command line adds its plugins: the committed reference
    # documents the built-in ones whatever ITUBE_CONFIG says.
    names = load_config(args.config).app.plugins if args.config else []
    block = reference(names)
    if not args.write:
        print(block)
        return EXIT_OK
    changed = write(Path(args.write), block)
    print(f"{args.write}: {'config reference rewritten' if changed else 'up to date'}",
          file=sys.stderr)
    return EXIT_OK


# Longest `config check --connect` waits for each dependency, beyond their own timeouts.
CONNECT_BUDGET_SECONDS = 10.0


async def _connection_failures(config: Config) -> list[str]:
    """Start the app as a server would (without migrating) and ask each readiness check once:
    the database and its migrations, the cache, AWS. One line per dependency that fails."""
    config = attrs.evolve(
        config,
        database=attrs.evolve(config.database, migrate_on_start=False),
        server=attrs.evolve(config.server, freeze_heap_after_startup=False),
    )
    app = create_app(config)
    ctx: AppContext = app.state.ctx
    try:
        async with asyncio.timeout(CONNECT_BUDGET_SECONDS * 2):
            async with app.router.lifespan_context(app):
                outcomes = [(check.name, await check.outcome(CONNECT_BUDGET_SECONDS))
                            for check in ctx.readiness]
    except Exception as exc:  # start-up itself failed: the first dependency that did not answer
        reason = describe_outcome(exc, detailed=True)
        return [f"start-up failed: {reason}"]
    return [f"{name}: {describe_outcome(outcome, detailed=True)}"
            for name, outcome in outcomes if outcome is not None]


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
    try:
        return asyncio.run(_migrate(ctx, args))
    except (OSError, asyncpg.PostgresError, sqlite3.OperationalError) as exc:
        if not _unreachable(exc):
            raise
        url = mask_url(ctx.config.database.url)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        reason = redact(reason, secret_texts_of(ctx.config))
        print(f"itube: cannot reach the database at {url}: {reason}", file=sys.stderr)
        return EXIT_REFUSED


def _unreachable(exc: BaseException) -> bool:
    """The database cannot be used at all: down, unreachable, or refusing us (password, no
    such database or role; an SQLite file that cannot be opened). Not a failed migration."""
    if isinstance(exc, sqlite3.OperationalError):
        return "unable to open" in str(exc) or db.is_unavailable(exc)
    return db.is_unavailable(exc) or isinstance(
        exc, asyncpg.InvalidAuthorizationSpecificationError | asyncpg.InvalidCatalogNameError
    )


async def _migrate(ctx: AppContext, args: argparse.Namespace) -> int:
    # A migration may rightly run for minutes (an index on a large table): the statement
    # bound that protects requests does not apply to it.
    with warnings.catch_warnings():
        # Piccolo warns, in colour, when it cannot ask the server's version: open_pool
        # below says so in one line.
        warnings.simplefilter("ignore")
        engine = db.make_engine(
            attrs.evolve(ctx.config.database, statement_timeout_seconds=0.0)
        )
    apps = piccolo_apps(ctx.pm)
    db.bind(engine, apps)
    await db.open_pool(engine, ctx.config.database)
    try:
        if args.direction == "forwards":
            async with db.migration_lock(ctx.config.database):
                ran = await db.migrate_forwards(apps)
            print("\n".join(ran) or "nothing to migrate")
        elif args.direction == "backwards":
            if not args.app:
                known = ", ".join(app.app_name for app in apps) or "none"
                raise UsageError(f"migrate backwards needs --app NAME (one of: {known})")
            try:
                async with db.migration_lock(ctx.config.database):
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
    parser.add_argument("--version", action="version", version=f"itube {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int)
    serve.set_defaults(func=cmd_serve)

    config = commands.add_parser("config", help="configuration tools")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    check = config_commands.add_parser(
        "check", help="report every problem of the config, or print it with secrets masked"
    )
    check.add_argument("--connect", action="store_true",
                       help="also check that the database, the cache and AWS answer and that "
                            "migrations are applied")
    check.set_defaults(func=cmd_config_check)
    reference = config_commands.add_parser(
        "reference", help="print the markdown reference of every config key, built-in "
                          "plugins' and those the config loads included"
    )
    reference.add_argument("--write", metavar="PATH",
                           help="replace the reference block of this markdown file instead")
    reference.set_defaults(func=cmd_config_reference)

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
        return EXIT_REFUSED
    except UsageError as exc:
        print(f"itube: {exc}", file=sys.stderr)
        return EXIT_REFUSED


if __name__ == "__main__":
    sys.exit(main())
