"""Values from the environment: `ITUBE__SECTION__KEY` overrides and `env:NAME` references."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import Any

from core.errors import ConfigError

ENV_PREFIX = "ITUBE__"


def _parse_env_value(raw: str) -> Any:
    """Arrays and tables are TOML (`["a", "b"]`); anything else stays a string, which the
    typed fields parse themselves (`8000`, `true`)."""
    if raw.lstrip().startswith(("[", "{")):
        try:
            return tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            pass
    return raw


def apply_env_overrides(
    data: dict[str, Any],
    environ: Mapping[str, str],
    origins: dict[str, str] | None = None,
    *,
    problems: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`ITUBE__DATABASE__URL=...` sets `data["database"]["url"]`; nested tables too
    (`ITUBE__PLUGINS__VIDEO__PUBLIC_DISCOVERY=false`). Records each key in `origins`.

    An empty variable is refused (compose passes `${NAME:-}` that way): unset it to keep
    the file's value. With `problems`, each problem is recorded there (key -> message)
    instead of raised, so every one is found in one pass.
    """
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        key = ".".join(path)
        problem = _override_problem(data, name, path, raw)
        if problem is not None:
            if problems is None:
                raise ConfigError(problem)
            problems.setdefault(key, problem)
            continue
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _parse_env_value(raw)
        if origins is not None:
            origins[key] = name
    return data


def _override_problem(data: dict[str, Any], name: str, path: list[str], raw: str) -> str | None:
    node: Any = data
    for depth, part in enumerate(path[:-1]):
        node = node.get(part, {})
        if not isinstance(node, dict):
            return f"{name}: {'.'.join(path[: depth + 1])} is a value, not a table"
    if not raw:
        return (f"{name}: {'.'.join(path)}: the variable is empty "
                "(unset it to keep the file's value)")
    return None


_UNRESOLVED: Any = object()  # an env reference whose variable is missing


def resolve_env_references(
    value: Any,
    environ: Mapping[str, str],
    *,
    source: str,
    key: str = "",
    problems: dict[str, str] | None = None,
) -> Any:
    """Replace every `env:NAME` or `env:NAME|default` string by the variable's value.

    A variable set to the empty string counts as unset (compose passes `${NAME:-}` that
    way): its default applies, and without one it is a problem. With `problems`, each
    problem is recorded there (key -> message) and the value left empty, so every problem
    of a file is found in one pass; without it, the first one raises.
    """
    if isinstance(value, dict):
        resolved = {
            k: resolve_env_references(v, environ, source=source, key=f"{key}.{k}".strip("."),
                                      problems=problems)
            for k, v in value.items()
        }
        # A missing text reads as empty: the file's other checks still run on the rest.
        return {k: "" if v is _UNRESOLVED else v for k, v in resolved.items()}
    if isinstance(value, list):
        items = [resolve_env_references(v, environ, source=source, key=key, problems=problems)
                 for v in value]
        return [item for item in items if item is not _UNRESOLVED]
    if isinstance(value, str) and value.startswith("env:"):
        name, has_default, default = value[4:].partition("|")
        found = environ.get(name)
        if found:
            return found
        if has_default:
            return default
        state = "is not set" if found is None else "is empty"
        message = (f"{source}: {key}: environment variable {name} {state} "
                   f"(set it, or write env:{name}|DEFAULT)")
        if problems is None:
            raise ConfigError(message)
        problems.setdefault(key, message)
        return _UNRESOLVED
    return value
