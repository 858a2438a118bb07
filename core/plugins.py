"""The plugin manager: one per app, built from the config's plugin list."""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

import pluggy
from pluggy import HookCaller

from core import hookspecs
from core.errors import ConfigError

PROJECT = "itube"
ENTRY_POINT_GROUP = "itube.plugins"
BUILTIN_PACKAGE = "plugins"
hookimpl = pluggy.HookimplMarker(PROJECT)
log = logging.getLogger("itube.plugins")

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
    """Hooks return lists; pluggy returns a list of them, in config order."""
    return [item for result in results for item in (result or ())]


def callers_in_order(pm: pluggy.PluginManager, name: str) -> list[tuple[object, HookCaller]]:
    """Each plugin implementing hook `name`, with a caller of that hook reaching only it
    (and every wrapper), in the order the manager calls them. Calling through pluggy, not
    the implementation itself, keeps wrappers and hook-call monitoring in the loop while
    the kernel awaits one plugin before asking the next, or tells whose result is whose."""
    # pluggy keeps a hook's implementations in the reverse of the order it calls them.
    plugins = [impl.plugin for impl in reversed(getattr(pm.hook, name).get_hookimpls())
               if not (impl.wrapper or impl.hookwrapper)]
    return [
        (plugin, pm.subset_hook_caller(name, [other for other in plugins if other is not plugin]))
        for plugin in plugins
    ]


async def call_in_order(
    pm: pluggy.PluginManager, name: str, *, reverse: bool = False, keep_going: bool = False,
    **kwargs: Any,
) -> None:
    """Call hook `name` plugin by plugin, awaiting what each returns before asking the
    next: in config order (`startup`) or reversed (`shutdown`). With `keep_going`, a
    failure is logged and the rest still run."""
    callers = callers_in_order(pm, name)
    for plugin, caller in reversed(callers) if reverse else callers:
        try:
            await resolve_all(caller(**kwargs))
        except Exception:
            if not keep_going:
                raise
            log.exception("hook failed", extra={"hook": name, "plugin": plugin_label(pm, plugin)})


def load_plugin(name: str) -> ModuleType | object:
    """A built-in short name (`video`), an entry point of `itube.plugins`, or a dotted path."""
    if "." not in name:
        builtin = _import_plugin(name, f"{BUILTIN_PACKAGE}.{name}")
        if builtin is not None:
            return builtin
        for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
            return entry.load()
        raise ConfigError(
            f"app.plugins: unknown plugin {name!r}: not a built-in plugin (plugins/{name}), "
            f"not an entry point of the {ENTRY_POINT_GROUP!r} group, and not a dotted module path"
        )
    module = _import_plugin(name, name)
    if module is None:
        raise ConfigError(f"app.plugins: unknown plugin {name!r}: no module named {name!r}")
    return module


def _import_plugin(name: str, module: str) -> ModuleType | None:
    """The module, None when it does not exist, a ConfigError when it needs one that is
    not installed."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None
        raise ConfigError(
            f"app.plugins: plugin {name!r} needs the module {exc.name!r}, which is not installed"
        ) from None


def make_plugin_manager(
    names: Iterable[str], extra: Iterable[object] = ()
) -> pluggy.PluginManager:
    """A fresh manager with the kernel defaults, then each named plugin, then `extra`
    objects (tests register inline plugins this way). Every hook call asks them in that
    order, `tryfirst` and `trylast` aside: lists come back in config order, and the first
    plugin that answers a `firstresult` hook wins."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.hook.register_hookspecs.call_historic(kwargs={"pm": pm})
    for kernel_plugin in KERNEL_PLUGINS:
        pm.register(importlib.import_module(kernel_plugin), name=kernel_plugin)
    loaded = [*_load_named(names), *((None, plugin) for plugin in extra)]
    # pluggy asks the latest registered first: registering last to first puts every call
    # in config order.
    for name, plugin in reversed(loaded):
        _register(pm, plugin, name)
    check_hook_names(pm)
    return pm


def _load_named(names: Iterable[str]) -> list[tuple[str | None, object]]:
    loaded: list[tuple[str | None, object]] = []
    for name in names:
        if any(name == seen for seen, _ in loaded):
            raise ConfigError(f"app.plugins: plugin {name!r} is listed twice")
        plugin = load_plugin(name)
        already = next((seen for seen, other in loaded if other is plugin), None)
        if already is not None:
            raise ConfigError(f"app.plugins: plugin {name!r} is the same plugin as "
                              f"{already!r}, which is already loaded")
        loaded.append((name, plugin))
    return loaded


def _register(pm: pluggy.PluginManager, plugin: object, name: str | None) -> None:
    if pm.is_registered(plugin):
        already = pm.get_name(plugin)
        raise ConfigError(
            f"app.plugins: plugin {name or plugin!r} is the same plugin as {already!r}, "
            "which is already loaded"
        )
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise ConfigError(_describe_invalid(pm, plugin, name, exc)) from None


def _describe_invalid(
    pm: pluggy.PluginManager, plugin: object, name: str | None, exc: Exception
) -> str:
    """One line naming the plugin, the hook and the argument the hook never passes (pluggy's
    own message spans several lines and quotes the function's code)."""
    label = name or _qualified_class(plugin)
    for attribute in dir(plugin):
        options = pm.parse_hookimpl_opts(plugin, attribute)
        if options is None:
            continue
        hook = options.get("specname") or attribute
        caller = getattr(pm.hook, hook, None)
        if caller is None or caller.spec is None:
            continue
        implementation = getattr(plugin, attribute)
        unknown = [arg for arg in _required_arguments(implementation)
                   if arg not in caller.spec.argnames]
        if unknown:
            passed = ", ".join(caller.spec.argnames) or "nothing"
            return (f"app.plugins: plugin {label!r}: its {hook!r} implementation takes "
                    f"{unknown[0]!r}, which the hook does not pass (it passes: {passed})")
    return f"app.plugins: plugin {label!r}: {str(exc).splitlines()[0]}"


def _required_arguments(function: Any) -> list[str]:
    """The arguments pluggy passes a hook implementation: those without a default."""
    return [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()
        if parameter.default is parameter.empty
        and parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    ]


def check_hook_names(pm: pluggy.PluginManager) -> None:
    """`pm.check_pending()` with a message that names the plugin and the likely hook."""
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        callers = {name: caller for name, caller in vars(pm.hook).items()
                   if not name.startswith("_")}
        known = sorted(name for name, caller in callers.items() if caller.has_spec())
        unknown = [
            (name, impl.plugin_name)
            for name, caller in callers.items()
            if not caller.has_spec()
            for impl in caller.get_hookimpls()
            if not impl.optionalhook
        ]
        if not unknown:
            raise ConfigError(str(exc)) from None
        hook, plugin = unknown[0]
        guess = difflib.get_close_matches(hook, known, n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else f"known hooks: {', '.join(known)}"
        raise ConfigError(
            f"plugin {plugin!r} implements {hook!r}, which is not a hook; {hint}"
        ) from None


def plugin_label(pm: pluggy.PluginManager, plugin: object) -> str:
    """How messages name a plugin: its config name, else (an object registered without
    one, which pluggy names by id) its class."""
    name = pm.get_name(plugin)
    if name and name != str(id(plugin)):
        return name
    return _qualified_class(plugin)


def plugins_in_order(pm: pluggy.PluginManager) -> list[tuple[str, object]]:
    """(name, plugin) of everything loaded, as `make_plugin_manager` was given them: the
    kernel's, the config's, then the extra objects."""
    registered = pm.list_name_plugin()
    kernel = [pair for pair in registered if pair[0] in KERNEL_PLUGINS]
    return kernel + [pair for pair in reversed(registered) if pair[0] not in KERNEL_PLUGINS]


def describe_plugins(pm: pluggy.PluginManager) -> list[dict[str, Any]]:
    """Name, version and implemented hooks of each loaded plugin (for `itube plugins`)."""
    described = []
    for name, plugin in plugins_in_order(pm):
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
        described.append(
            {
                "name": name,
                "module": getattr(plugin, "__name__", None) or _qualified_class(plugin),
                "version": _version_of(plugin),
                "hooks": hooks,
            }
        )
    return described


def _qualified_class(plugin: object) -> str:
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def _version_of(plugin: object) -> str | None:
    """`__version__` if the plugin has one, this project's for the kernel and the built-in
    plugins, else the version of the distribution whose entry point names the module."""
    version = getattr(plugin, "__version__", None)
    if version:
        return str(version)
    module = getattr(plugin, "__name__", None) or type(plugin).__module__
    top = module.split(".")[0]
    if top in {"core", BUILTIN_PACKAGE}:
        from core import __version__

        return __version__
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.module == module and entry.dist is not None:
            return entry.dist.version
    return None
