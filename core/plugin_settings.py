"""Reading the loaded plugins' settings, and every problem start-up would refuse."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pluggy

from core.config import Config, Problems, secret_texts_of, structure
from core.context import AppContext
from core.errors import ConfigError
from core.plugins import callers_in_order, flatten, make_plugin_manager, plugin_label


def prepare(config: Config, plugins: Iterable[object] = ()) -> AppContext:
    """Load the plugins and validate their settings: everything start-up can refuse."""
    ctx, problems = inspect_plugins(config, plugins)
    if problems:
        raise ConfigError("\n".join(problems))
    return ctx


def inspect_plugins(
    config: Config, plugins: Iterable[object] = (), problems: Problems | None = None
) -> tuple[AppContext, list[str]]:
    """`prepare` collecting every problem instead of raising: each plugin's settings, then
    each plugin's `config_problems` (skipped for a plugin whose settings could not be
    read). Added to `problems` (those of the config itself) when given."""
    problems = Problems(config.source) if problems is None else problems
    pm = make_plugin_manager(config.app.plugins, extra=plugins)
    ctx = AppContext(config=config, pm=pm)
    ctx.plugin_settings, unreadable = _structure_settings(config, pm, problems)
    secrets = secret_texts_of(config, *ctx.plugin_settings.values())
    for plugin, config_problems in callers_in_order(pm, "config_problems"):
        if plugin not in unreadable:
            found = config_problems(config=config, settings=ctx.plugin_settings)
            problems.extend(flatten(found), secrets)
    return ctx, problems.all()


def _structure_settings(
    config: Config, pm: pluggy.PluginManager, problems: Problems
) -> tuple[dict[str, Any], set[object]]:
    """The settings that could be read, and the plugins whose settings could not."""
    classes: dict[str, tuple[type, object]] = {}
    for plugin, register_settings in callers_in_order(pm, "register_settings"):
        for declared in register_settings():
            for name, cls in declared.items():
                if name in classes:
                    raise ConfigError(f"app.plugins: {plugin_label(pm, classes[name][1])} and "
                                      f"{plugin_label(pm, plugin)} both read "
                                      f"[plugins.{name}]: load only one of them")
                classes[name] = (cls, plugin)
    problems.add_lines(
        f"{config.source}: [plugins.{orphan}]: no loaded plugin reads these settings "
        f"(plugins with settings: {', '.join(sorted(classes)) or 'none'})"
        for orphan in sorted(set(config.plugins) - set(classes))
    )
    settings: dict[str, Any] = {}
    unreadable: set[object] = set()
    for name, (cls, plugin) in classes.items():
        try:
            settings[name] = structure(config.plugins.get(name, {}), cls, source=config.source,
                                       prefix=f"plugins.{name}.", origins=config.env_overrides)
        except ConfigError as exc:
            problems.add_lines(str(exc).splitlines())
            unreadable.add(plugin)
    return settings, unreadable
