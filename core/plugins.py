"""The plugin manager: one per app, built from the config's plugin list."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy

from core import hookspecs
from core.errors import ConfigError

PROJECT = "itube"
ENTRY_POINT_GROUP = "itube.plugins"
BUILTIN_PACKAGE = "plugins"
hookimpl = pluggy.HookimplMarker(PROJECT)

# Always registered first: the kernel's own fallbacks (`trylast`), overridable by any plugin.
KERNEL_PLUGINS = ("core.defaults",)


async def resolve(value: Any) -> Any:
    """The one place that cares whether a hook returned a value or an awaitable."""
    if inspect.isawaitable(value):
        return await value
    return value


async def resolve_all(results: Iterable[Any]) -> list[Any]:
    """Resolve every result of a non-firstresult hook, dropping the Nones."""
    resolved = [await resolve(result) for result in results]
    return [result for result in resolved if result is not None]


def flatten(results: Iterable[Any]) -> list[Any]:
    """Hooks return lists; pluggy returns a list of them. Latest registered come first, so
    reverse to keep the config's order."""
    return [item for result in reversed(list(results)) for item in (result or ())]


def load_plugin(name: str) -> ModuleType | object:
    """A built-in short name (`video`), an entry point of `itube.plugins`, or a dotted path."""
    if "." not in name:
        try:
            return importlib.import_module(f"{BUILTIN_PACKAGE}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{BUILTIN_PACKAGE}.{name}":
                raise
        for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
            return entry.load()
        raise ConfigError(
            f"unknown plugin {name!r}: not a built-in plugin, not an entry point of "
            f"{ENTRY_POINT_GROUP!r} and not a dotted module path"
        )
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"unknown plugin {name!r}: cannot import {exc.name!r}") from None


def make_plugin_manager(names: Iterable[str], extra: Iterable[object] = ()) -> pluggy.PluginManager:
    """A fresh manager with the kernel defaults, then each named plugin, then `extra`
    objects (tests register inline plugins this way)."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.register_hookspecs.call_historic(kwargs={"pm": pm})
    for name in KERNEL_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"plugin {name!r} is listed twice")
        seen.add(name)
        pm.register(load_plugin(name), name=name)
    for plugin in extra:
        pm.register(plugin)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError(f"plugin {exc.plugin!r} implements an unknown hook: {exc}") from None
    return pm


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Name, version and implemented hooks of each loaded plugin (for `itube plugins`)."""
    described = []
    for name, plugin in pm.list_name_plugin():
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
        described.append(
            {
                "name": name,
                "module": getattr(plugin, "__name__", type(plugin).__qualname__),
                "version": _version_of(plugin),
                "hooks": hooks,
            }
        )
    return described


def _version_of(plugin: object) -> str | None:
    version = getattr(plugin, "__version__", None)
    if version:
        return str(version)
    module = getattr(plugin, "__name__", "") or type(plugin).__module__
    if module.split(".")[0] in {"core", BUILTIN_PACKAGE}:
        from core import __version__

        return __version__
    return None
