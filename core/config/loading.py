"""Reading a config: the TOML file, overrides and the environment merged, each section
structured on its own, and every problem collected."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from core.config.checks import Problems, core_problems, production_problems
from core.config.converter import WrongValue
from core.config.environment import apply_env_overrides, resolve_env_references
from core.config.introspection import type_hints
from core.config.masking import holds_secrets, secret_texts_of
from core.config.sections import Config
from core.config.structuring import structure
from core.errors import ConfigError

DEFAULT_CONFIG = "config/default.toml"


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read the TOML file (`ITUBE_CONFIG` or config/default.toml), apply the environment."""
    config, problems = inspect_config(path, environ=environ, overrides=overrides)
    if problems:
        raise ConfigError(str(problems))
    return config


def inspect_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> tuple[Config, Problems]:
    """Like `load_config`, but every problem is collected instead of raised, next to a
    Config in which a section that could not be read keeps its defaults. An unreadable
    file still raises: nothing else can be checked."""
    environ = os.environ if environ is None else environ
    source = str(path or environ.get("ITUBE_CONFIG") or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return inspect_dict(data, source=source, environ=environ, overrides=overrides,
                        production_rules=True)


def config_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<dict>",
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """A Config from already-parsed TOML, with `overrides` and the environment applied."""
    config, problems = inspect_dict(data, source=source, environ=environ, overrides=overrides)
    if problems:
        raise ConfigError(str(problems))
    return config


def inspect_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<dict>",
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    production_rules: bool = False,
) -> tuple[Config, Problems]:
    """`config_from_dict` collecting every problem (see `inspect_config`); with
    `production_rules`, a production config is also held to `production_problems`."""
    environ = os.environ if environ is None else environ
    problems = Problems(source)
    origins: dict[str, str] = {}
    merged = _deep_merge(_deep_copy(data), overrides or {})
    merged = apply_env_overrides(merged, environ, origins, problems=problems.unresolved)
    merged = resolve_env_references(merged, environ, source=source, problems=problems.unresolved)
    config = _structure_sections(merged, source, origins, problems)
    config.env_overrides = origins
    found = core_problems(config)
    if production_rules and config.is_production:
        found += production_problems(config)
    problems.extend(found, secret_texts_of(config))
    return config, problems


def _structure_sections(
    merged: Mapping[str, Any], source: str, origins: Mapping[str, str], problems: Problems
) -> Config:
    """Each `[section]` structured on its own, so a bad one hides no problem of another;
    one that cannot be read keeps its defaults."""
    fields = {field.name: field for field in attrs.fields(Config) if field.init}
    hints = type_hints(Config)
    unknown = sorted(set(merged) - set(fields))
    problems.add_lines(
        f"{source}: {name}: unknown section (expected one of: {', '.join(fields)})"
        for name in unknown
    )
    values: dict[str, Any] = {"source": source}
    for name in fields:
        if name not in merged or name == "source":
            continue
        if not isinstance(merged[name], Mapping):
            wrong = WrongValue("a table", merged[name])
            problems.add_lines([f"{source}: {name}: "
                                f"{wrong.describe(secret=holds_secrets(hints[name]))}"])
            continue
        try:
            values[name] = structure(merged[name], hints[name], source=source,
                                     prefix=f"{name}.", origins=origins)
        except ConfigError as exc:
            problems.add_lines(str(exc).splitlines())
    return Config(**values)


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = _deep_copy(value) if isinstance(value, Mapping) else value
    return base
