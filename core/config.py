"""Configuration: TOML structured into attrs classes by cattrs.

Sources, last wins: the TOML file, then `ITUBE__SECTION__KEY` environment variables.
A string value `env:NAME` (or `env:NAME|default`) is replaced by that variable, so
secrets never sit in a committed file. Errors name the file, the key and what was expected.
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from cattrs.cols import list_structure_factory
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from core.clients import parse_networks
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
    # Once started, move everything allocated so far (boto3, Piccolo, the plugins) out of
    # the garbage collector's sight (gc.freeze): full collections then walk only what
    # requests allocate. Leave on in servers; tests that build many apps turn it off.
    freeze_heap_after_startup: bool = True


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
    # Proxies (IP addresses or CIDR networks, e.g. the load balancer's subnets) whose
    # `client_address_header` is believed. Empty: the connection's peer is the client.
    trusted_proxies: list[str] = attrs.Factory(list)
    # Where a trusted proxy writes the client's address (read right to left, skipping
    # trusted hops).
    client_address_header: str = "x-forwarded-for"


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
    # Keys set by `ITUBE__...` variables (`"database.url": "ITUBE__DATABASE__URL"`).
    env_overrides: dict[str, str] = attrs.field(factory=dict, init=False)

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


def _is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is Literal


def _structure_literal(value: Any, tp: Any) -> Any:
    allowed = typing.get_args(tp)
    if value in allowed and type(value) in {type(choice) for choice in allowed}:
        return value
    raise ValueError(f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")


def _is_list(tp: Any) -> bool:
    return tp is list or typing.get_origin(tp) is list


def _list_hook_factory(tp: Any, converter: cattrs.Converter) -> Any:
    # cattrs would turn the string "abc" into ["a", "b", "c"]; a list must be a list.
    structure_items = list_structure_factory(tp, converter)

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a list, got {value!r}")
        return structure_items(value, tp)

    return hook


def make_converter(*, forbid_extra_keys: bool = True) -> cattrs.Converter:
    """A converter that refuses unknown keys and silent type coercion."""
    converter = cattrs.Converter(forbid_extra_keys=forbid_extra_keys)
    converter.register_structure_hook(bool, _strict(bool, _parse_bool))
    converter.register_structure_hook(int, _strict(int, int))
    converter.register_structure_hook(float, _strict(float, float))
    converter.register_structure_hook(str, _strict(str, _parse_str))
    converter.register_structure_hook_func(_is_literal, _structure_literal)
    converter.register_structure_hook_factory(_is_list, _list_hook_factory)
    return converter


CONVERTER = make_converter()


def type_name(tp: Any) -> str:
    """`int`, `list[str]`, `str | None`: how a person writes the type."""
    if _is_literal(tp):
        return "one of " + ", ".join(map(repr, typing.get_args(tp)))
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("NoneType", "None")


def iter_structure_errors(
    exc: BaseException, path: str = "", tp: Any = None
) -> Iterator[tuple[str, BaseException, Any]]:
    """Walk a cattrs error tree: `(dotted.path, leaf exception, expected type)` per problem."""
    if isinstance(exc, ClassValidationError):
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            yield from iter_structure_errors(sub, f"{path}.{note.name}".lstrip("."), note.type)
        for sub in without:
            yield from iter_structure_errors(sub, path, tp)
    elif isinstance(exc, IterableValidationError):
        with_index, without = exc.group_exceptions()
        for sub, index_note in with_index:
            yield from iter_structure_errors(sub, f"{path}[{index_note.index}]", index_note.type)
        for sub in without:
            yield from iter_structure_errors(sub, path, tp)
    elif isinstance(exc, cattrs.BaseValidationError):
        for sub in exc.exceptions:
            yield from iter_structure_errors(sub, path, tp)
    else:
        yield path, exc, tp


def _config_problems(exc: BaseException, prefix: str) -> Iterator[tuple[str, str]]:
    for path, leaf, tp in iter_structure_errors(exc):
        key = f"{prefix}{path}".strip(".")
        if isinstance(leaf, ForbiddenExtraKeysError):
            known = ", ".join(f.name for f in attrs.fields(leaf.cl) if f.init) or "none"
            what = "section" if not key else "key"
            for extra in sorted(leaf.extra_fields):
                yield f"{key}.{extra}".strip("."), f"unknown {what} (expected one of: {known})"
        elif isinstance(leaf, KeyError):
            yield key, f"a required value is missing (expected {type_name(tp)})"
        elif isinstance(leaf, ValueError | TypeError):
            yield key, str(leaf)
        else:
            yield key, f"invalid value ({leaf})"


def structure(
    data: Mapping[str, Any],
    cls: type[T],
    *,
    source: str,
    prefix: str = "",
    origins: Mapping[str, str] | None = None,
) -> T:
    """Structure `data` into `cls`, raising one ConfigError that lists every bad key.

    Each line names the file, the dotted key and what was expected; `origins` maps keys
    set from the environment to their variable, which the line names too.
    """
    try:
        return CONVERTER.structure(dict(data), cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        lines = []
        for key, problem in _config_problems(exc, prefix):
            origin = (origins or {}).get(key)
            where = f" (set by {origin})" if origin else ""
            lines.append(f"{source}: {key or '(root)'}: {problem}{where}")
        raise ConfigError("\n".join(lines)) from None


# -- loading ---------------------------------------------------------------------------------


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
    data: dict[str, Any], environ: Mapping[str, str], origins: dict[str, str] | None = None
) -> dict[str, Any]:
    """`ITUBE__DATABASE__URL=...` sets `data["database"]["url"]`; nested tables too
    (`ITUBE__PLUGINS__VIDEO__PUBLIC_DISCOVERY=false`). Records each key in `origins`."""
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__") if part]
        if not path:
            continue
        node = data
        for depth, part in enumerate(path[:-1]):
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                table = ".".join(path[: depth + 1])
                raise ConfigError(f"{name}: {table} is a value, not a table")
        node[path[-1]] = _parse_env_value(raw)
        if origins is not None:
            origins[".".join(path)] = name
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
        raise ConfigError(
            f"{source}: {key}: environment variable {name} is not set "
            f"(set it, or write env:{name}|DEFAULT)"
        )
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
    """A Config from already-parsed TOML, with `overrides` and the environment applied."""
    environ = os.environ if environ is None else environ
    origins: dict[str, str] = {}
    merged = _deep_merge(_deep_copy(data), overrides or {})
    merged = apply_env_overrides(merged, environ, origins)
    merged = resolve_env_references(merged, environ, source=source)
    merged["source"] = source
    config = structure(merged, Config, source=source, origins=origins)
    config.env_overrides = origins
    _check_core(config)
    return config


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _check_core(config: Config) -> None:
    """Values that are well-typed but unusable."""
    database, http, server = config.database, config.http, config.server
    problems = []
    if "*" in http.cors_origins:
        problems.append("http.cors_origins: '*' is not allowed with credentials; list the origins")
    if not database.url.startswith(("sqlite://", "postgres://", "postgresql://", "postgresql+")):
        problems.append(
            "database.url: expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB, "
            f"got {mask_url(database.url)!r}"
        )
    if not 0 <= database.pool_min_size <= database.pool_max_size or database.pool_max_size < 1:
        problems.append(
            "database.pool_min_size, pool_max_size: expected 0 <= min <= max and max >= 1, "
            f"got {database.pool_min_size} and {database.pool_max_size}"
        )
    try:
        parse_networks(http.trusted_proxies)
    except ValueError as exc:
        problems.append(f"http.trusted_proxies: {exc}")
    if http.max_body_bytes < 1:
        problems.append(f"http.max_body_bytes: expected a positive int, got {http.max_body_bytes}")
    if not 0 <= server.port <= 65535:
        problems.append(f"server.port: expected 0-65535, got {server.port}")
    if server.workers < 1:
        problems.append(f"server.workers: expected at least 1, got {server.workers}")
    if config.logging.level.upper() not in LOG_LEVELS:
        problems.append(
            f"logging.level: expected one of {', '.join(LOG_LEVELS)}, got {config.logging.level!r}"
        )
    if problems:
        raise ConfigError("\n".join(f"{config.source}: {problem}" for problem in problems))


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
    """`postgresql://u:secret@h/db?password=x` -> `postgresql://u:********@h/db?password=********`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, question, query = rest.partition("?")
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        rest = f"{creds.split(':', 1)[0]}:{MASK}@{host}"
    if query:
        query = "&".join(_mask_query_pair(pair) for pair in query.split("&"))
    return f"{scheme}://{rest}{question}{query}"


def _mask_query_pair(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    if equals and any(word in name.lower() for word in ("password", "secret", "token", "key")):
        return f"{name}={MASK}"
    return pair


def masked(instance: Any) -> Any:
    """Unstructure an attrs instance, masking fields marked `secret`."""
    if not attrs.has(type(instance)):
        return CONVERTER.unstructure(instance)
    out: dict[str, Any] = {}
    for field in attrs.fields(type(instance)):
        value = getattr(instance, field.name)
        if field.metadata.get("secret") and value:
            out[field.name] = mask_url(value) if isinstance(value, str) and "://" in value else MASK
        elif isinstance(value, dict):
            out[field.name] = {k: masked(v) for k, v in value.items()}
        else:
            out[field.name] = masked(value)
    return out
