"""Configuration: TOML structured into attrs classes by cattrs.

Sources, last wins: the TOML file, then `ITUBE__SECTION__KEY` environment variables.
A string value `env:NAME` (or `env:NAME|default`) is replaced by that variable, so
secrets never sit in a committed file. Errors name the file, the key and what was expected.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from cattrs.errors import ForbiddenExtraKeysError

from core.errors import ConfigError

T = TypeVar("T")
ENV_PREFIX = "ITUBE__"
DEFAULT_CONFIG = "config/default.toml"


def secret(default: Any = "", **kwargs: Any) -> Any:
    """An attrs field whose value is masked wherever the config is printed."""
    return attrs.field(default=default, metadata={"secret": True}, **kwargs)


@attrs.define
class AppSection:
    # Plugins to load, in order: built-in short names, dotted module paths or entry points.
    plugins: list[str] = attrs.Factory(list)
    # "production" refuses development-only values (see each plugin's config_problems).
    environment: Literal["development", "production"] = "development"


@attrs.define
class ServerSection:
    host: str = "127.0.0.1"
    port: int = 8000
    # uvicorn worker processes for `itube serve`.
    workers: int = 1


@attrs.define
class DatabaseSection:
    # `sqlite:///path/to/file.db` or `postgresql://user:pass@host:port/db`.
    url: str = secret("sqlite:///itube.db")
    # PostgreSQL connection pool bounds (ignored by SQLite).
    pool_min_size: int = 1
    pool_max_size: int = 10
    # Apply pending migrations when the app starts (the embedded default does).
    migrate_on_start: bool = False


@attrs.define
class HttpSection:
    # Largest request body accepted, in bytes (413 beyond).
    max_body_bytes: int = 1_048_576
    # Origins allowed for CORS and for cookie-authenticated unsafe requests. Never "*".
    cors_origins: list[str] = attrs.Factory(list)


@attrs.define
class AwsSection:
    region: str = "us-east-1"
    # Send every boto3 client here instead of AWS (an emulator, a VPC endpoint).
    endpoint_url: str = ""
    # Empty means boto3's own credential chain (environment, instance or task role).
    access_key_id: str = secret()
    secret_access_key: str = secret()
    session_token: str = secret()


@attrs.define
class LoggingSection:
    level: str = "INFO"
    # One JSON line per request.
    access_log: bool = True


@attrs.define
class Config:
    app: AppSection = attrs.Factory(AppSection)
    server: ServerSection = attrs.Factory(ServerSection)
    database: DatabaseSection = attrs.Factory(DatabaseSection)
    http: HttpSection = attrs.Factory(HttpSection)
    aws: AwsSection = attrs.Factory(AwsSection)
    logging: LoggingSection = attrs.Factory(LoggingSection)
    # Raw `[plugins.<name>]` tables; each is structured into its plugin's settings class.
    plugins: dict[str, dict[str, Any]] = attrs.Factory(dict)
    # Where this config came from, for error messages.
    source: str = "<defaults>"

    @property
    def is_production(self) -> bool:
        return self.app.environment == "production"


# -- structuring ---------------------------------------------------------------------------


def _strict(kind: type, parse: Any) -> Any:
    def hook(value: Any, _: Any) -> Any:
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            return value
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                pass
        raise ValueError(f"expected {kind.__name__}, got {value!r}")

    return hook


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"true", "1", "yes", "on"}:
        return True
    if lowered in {"false", "0", "no", "off"}:
        return False
    raise ValueError(text)


def _parse_str(text: str) -> str:
    return text


def make_converter() -> cattrs.Converter:
    """A converter that refuses unknown keys and silent type coercion."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(bool, _strict(bool, _parse_bool))
    converter.register_structure_hook(int, _strict(int, int))
    converter.register_structure_hook(float, _strict(float, float))
    converter.register_structure_hook(str, _strict(str, _parse_str))
    return converter


CONVERTER = make_converter()


def _describe(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, ForbiddenExtraKeysError):
        return f"unknown key(s): {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, KeyError):
        return "a required value is missing"
    if isinstance(exc, ValueError | TypeError):
        text = str(exc)
        if "Literal" in text or "not in literal" in text:
            return f"expected one of {getattr(_type, '__args__', '?')}"
        return text
    return f"invalid value ({type(exc).__name__})"


def structure(data: Mapping[str, Any], cls: type[T], *, source: str, prefix: str = "") -> T:
    """Structure `data` into `cls`, raising one ConfigError that lists every bad key."""
    try:
        return CONVERTER.structure(dict(data), cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        lines = []
        for message in cattrs.transform_error(exc, path="$", format_exception=_describe):
            text, _, path = message.rpartition(" @ ")
            key = (prefix + path.removeprefix("$").lstrip(".")).strip(".") or "(root)"
            lines.append(f"{source}: {key}: {text or message}")
        raise ConfigError("\n".join(lines)) from None


# -- loading ---------------------------------------------------------------------------------


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """`ITUBE__DATABASE__URL=...` sets `data["database"]["url"]`; nested tables too."""
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {'.'.join(path)} does not name a table")
        node[path[-1]] = _parse_env_value(raw)
    return data


def resolve_env_references(
    value: Any, environ: Mapping[str, str], *, source: str, key: str = ""
) -> Any:
    """Replace every `env:NAME` or `env:NAME|default` string by the variable's value."""
    if isinstance(value, dict):
        return {
            k: resolve_env_references(v, environ, source=source, key=f"{key}.{k}".strip("."))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [resolve_env_references(v, environ, source=source, key=key) for v in value]
    if isinstance(value, str) and value.startswith("env:"):
        name, has_default, default = value[4:].partition("|")
        if name in environ:
            return environ[name]
        if has_default:
            return default
        raise ConfigError(f"{source}: {key}: environment variable {name} is not set")
    return value


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read the TOML file (`ITUBE_CONFIG` or config/default.toml), apply the environment."""
    environ = os.environ if environ is None else environ
    source = str(path or environ.get("ITUBE_CONFIG") or DEFAULT_CONFIG)
    try:
        data = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    return config_from_dict(data, source=source, environ=environ, overrides=overrides)


def config_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "<dict>",
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    environ = os.environ if environ is None else environ
    merged = _deep_merge(_deep_copy(data), overrides or {})
    merged = apply_env_overrides(merged, environ)
    merged = resolve_env_references(merged, environ, source=source)
    merged["source"] = source
    config = structure(merged, Config, source=source)
    _check_core(config)
    return config


def _check_core(config: Config) -> None:
    if "*" in config.http.cors_origins:
        raise ConfigError(
            f"{config.source}: http.cors_origins: '*' is not allowed with credentials; "
            "list the origins"
        )
    url = config.database.url
    if not url.startswith(("sqlite://", "postgres://", "postgresql://", "postgresql+")):
        raise ConfigError(
            f"{config.source}: database.url: expected sqlite:///PATH or postgresql://..., "
            f"got {mask_url(url)!r}"
        )


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = _deep_copy(value) if isinstance(value, Mapping) else value
    return base


# -- printing --------------------------------------------------------------------------------

MASK = "********"


def mask_url(url: str) -> str:
    """`postgresql://u:secret@h/db` -> `postgresql://u:********@h/db`."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in creds:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:{MASK}@{host}"


def masked(instance: Any) -> Any:
    """Unstructure an attrs instance, masking fields marked `secret`."""
    if not attrs.has(type(instance)):
        return CONVERTER.unstructure(instance)
    out: dict[str, Any] = {}
    for field in attrs.fields(type(instance)):
        value = getattr(instance, field.name)
        if field.metadata.get("secret") and value:
            out[field.name] = mask_url(value) if "://" in str(value) else MASK
        elif isinstance(value, dict):
            out[field.name] = {k: masked(v) for k, v in value.items()}
        else:
            out[field.name] = masked(value)
    return out
