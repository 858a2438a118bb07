"""Configuration: TOML structured into attrs classes by cattrs.

Sources, last wins: the TOML file, then `ITUBE__SECTION__KEY` environment variables.
A string value `env:NAME` (or `env:NAME|default`) is replaced by that variable, so
secrets never sit in a committed file. Errors name the file, the key and what was expected.
"""

from __future__ import annotations

import os
import tomllib
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import attrs
import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory
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
    # Largest request head (request line and header fields) accepted, in bytes; beyond
    # it `itube serve` answers 431 and closes the connection.
    max_header_bytes: int = 32_768
    # Most header fields one request may carry (431 beyond).
    max_headers: int = 100
    # On SIGTERM or SIGINT, how long requests in flight may take to finish before they
    # are cancelled and the process stops (at most 5 s of clean-up follow). Keep the sum
    # under the orchestrator's stop timeout: `docker stop` waits 10 s.
    graceful_shutdown_seconds: float = 5.0


@attrs.define
class DatabaseSection:
    # `sqlite:///path/to/file.db` or `postgresql://user:pass@host:port/db`.
    url: str = secret("sqlite:///itube.db")
    # PostgreSQL connection pool bounds (ignored by SQLite).
    pool_min_size: int = 1
    pool_max_size: int = 10
    # Apply pending migrations when the app starts (the embedded default does).
    migrate_on_start: bool = False
    # Longest wait for a new PostgreSQL connection (TCP and the start-up handshake).
    connect_timeout_seconds: float = 3.0
    # Longest wait for a pooled connection (all busy, or the server gone); then 503.
    pool_acquire_timeout_seconds: float = 3.0
    # Longest a statement may run: enforced by the client (a frozen server never answers)
    # and by PostgreSQL; SQLite waits this long for a lock. 0 lifts the bound (a long
    # migration run by `itube migrate`).
    statement_timeout_seconds: float = 5.0


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
    # Longest wait for a connection to an AWS endpoint, and for an answer once connected.
    connect_timeout_seconds: float = 2.0
    read_timeout_seconds: float = 5.0
    # Tries per call, the first included (2: one retry). With the timeouts this bounds how
    # long a request waits for an AWS that does not answer.
    max_attempts: int = 2
    # How long /readyz reuses its last look at whether the AWS endpoints answer.
    readiness_cache_seconds: float = 30.0


@attrs.define
class LoggingSection:
    level: str = "INFO"
    # One JSON line per request.
    access_log: bool = True


@attrs.define
class MetricsSection:
    # Serve Prometheus metrics at `/metrics` (docs/metrics.md). Off: the route does not exist.
    enabled: bool = False
    # Client addresses (IPs or CIDR networks) that may scrape without a credential; any
    # other client must authenticate as an internal service.
    allowed_networks: list[str] = attrs.Factory(lambda: ["127.0.0.0/8", "::1/128"])


@attrs.define
class Config:
    app: AppSection = attrs.Factory(AppSection)
    server: ServerSection = attrs.Factory(ServerSection)
    database: DatabaseSection = attrs.Factory(DatabaseSection)
    http: HttpSection = attrs.Factory(HttpSection)
    aws: AwsSection = attrs.Factory(AwsSection)
    logging: LoggingSection = attrs.Factory(LoggingSection)
    metrics: MetricsSection = attrs.Factory(MetricsSection)
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


class WrongValue(ValueError):
    """A value that does not fit its key. The value is kept apart from the message, so a
    message about a secret key can leave it out."""

    def __init__(self, expected: str, value: Any) -> None:
        super().__init__(f"expected {expected}, got {value!r}")
        self.expected = expected
        self.value = value

    def describe(self, *, secret: bool) -> str:
        """The message; for a secret key, the value's type instead of the value."""
        if secret:
            return f"expected {self.expected}, got {type(self.value).__name__} (secret, not shown)"
        return str(self)


def _fits(value: Any, kind: type) -> bool:
    # True is an int to Python but never to a config file; 3 is a perfectly good float.
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, kind) or (kind is float and isinstance(value, int))


def _strict(kind: type, parse: Any) -> Any:
    def hook(value: Any, _: Any) -> Any:
        if _fits(value, kind):
            return kind(value)
        if isinstance(value, str):
            try:
                return parse(value)
            except ValueError:
                pass
        raise WrongValue(kind.__name__, value)

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
    raise WrongValue(f"one of {', '.join(map(repr, allowed))}", value)


def _is_list(tp: Any) -> bool:
    return tp is list or typing.get_origin(tp) is list


def _list_hook_factory(tp: Any, converter: cattrs.Converter) -> Any:
    # cattrs would turn the string "abc" into ["a", "b", "c"]; a list must be a list.
    structure_items = list_structure_factory(tp, converter)

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise WrongValue("a list", value)
        return structure_items(value, tp)

    return hook


def _is_dict(tp: Any) -> bool:
    return tp is dict or typing.get_origin(tp) is dict


def _table_hook(structure_table: Any) -> Any:
    # cattrs would fail on a string with "'str' object has no attribute 'items'".
    def hook(value: Any, tp: Any) -> Any:
        if not isinstance(value, Mapping):
            raise WrongValue("a table", value)
        return structure_table(value, tp)

    return hook


def _dict_hook_factory(tp: Any, converter: cattrs.Converter) -> Any:
    # Not `converter.gen_structure_mapping`: it also registers its bare hook for `tp`, which
    # would then replace this one for every later class with a field of that type.
    return _table_hook(mapping_structure_factory(
        tp, converter, dict, detailed_validation=converter.detailed_validation
    ))


def _attrs_hook_factory(cls: Any, converter: cattrs.Converter) -> Any:
    return _table_hook(converter.gen_structure_attrs_fromdict(cls))


def make_converter(*, forbid_extra_keys: bool = True) -> cattrs.Converter:
    """A converter that refuses unknown keys and silent type coercion."""
    converter = cattrs.Converter(forbid_extra_keys=forbid_extra_keys)
    converter.register_structure_hook(bool, _strict(bool, _parse_bool))
    converter.register_structure_hook(int, _strict(int, int))
    converter.register_structure_hook(float, _strict(float, float))
    converter.register_structure_hook(str, _strict(str, _parse_str))
    converter.register_structure_hook_func(_is_literal, _structure_literal)
    converter.register_structure_hook_factory(_is_list, _list_hook_factory)
    converter.register_structure_hook_factory(_is_dict, _dict_hook_factory)
    converter.register_structure_hook_factory(attrs.has, _attrs_hook_factory)
    return converter


CONVERTER = make_converter()


def type_name(tp: Any) -> str:
    """`int`, `list[str]`, `str | None`: how a person writes the type."""
    if _is_literal(tp):
        return "one of " + ", ".join(map(repr, typing.get_args(tp)))
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "").replace("NoneType", "None")


class StructureProblem(typing.NamedTuple):
    """One leaf of a cattrs error tree."""

    path: str  # dotted, with [index] for list items and table entries
    error: BaseException
    type: Any  # what the key expects
    secret: bool  # the key, or a table or list holding it, is declared `secret()`


def iter_structure_errors(
    exc: BaseException, path: str = "", tp: Any = None, secret: bool = False
) -> Iterator[StructureProblem]:
    """Walk a cattrs error tree, one `StructureProblem` per leaf."""
    if isinstance(exc, ClassValidationError):
        fields = attrs.fields_dict(exc.cl) if attrs.has(exc.cl) else {}
        with_notes, without = exc.group_exceptions()
        for sub, note in with_notes:
            field = fields.get(note.name)
            hidden = secret or bool(field and field.metadata.get("secret"))
            yield from iter_structure_errors(
                sub, f"{path}.{note.name}".lstrip("."), note.type, hidden
            )
        for sub in without:
            yield from iter_structure_errors(sub, path, tp, secret)
    elif isinstance(exc, IterableValidationError):
        with_index, without = exc.group_exceptions()
        for sub, index_note in with_index:
            yield from iter_structure_errors(
                sub, f"{path}[{index_note.index}]", index_note.type, secret
            )
        for sub in without:
            yield from iter_structure_errors(sub, path, tp, secret)
    elif isinstance(exc, cattrs.BaseValidationError):
        for sub in exc.exceptions:
            yield from iter_structure_errors(sub, path, tp, secret)
    else:
        yield StructureProblem(path, exc, tp, secret)


def _config_problems(exc: BaseException, prefix: str) -> Iterator[tuple[str, str]]:
    for path, leaf, tp, secret_key in iter_structure_errors(exc):
        key = f"{prefix}{path}".strip(".")
        if isinstance(leaf, ForbiddenExtraKeysError):
            known = ", ".join(f.name for f in attrs.fields(leaf.cl) if f.init) or "none"
            what = "section" if not key else "key"
            for extra in sorted(leaf.extra_fields):
                yield f"{key}.{extra}".strip("."), f"unknown {what} (expected one of: {known})"
        elif isinstance(leaf, KeyError):
            yield key, f"a required value is missing (expected {type_name(tp)})"
        elif isinstance(leaf, WrongValue):
            yield key, leaf.describe(secret=secret_key or holds_secrets(tp))
        elif secret_key:
            # Whatever else failed may quote the value: say only what was expected.
            yield key, f"invalid value (expected {type_name(tp)}; secret, not shown)"
        elif isinstance(leaf, ValueError | TypeError):
            yield key, str(leaf)
        else:
            yield key, f"invalid value ({leaf})"


def _origin_of(key: str, origins: Mapping[str, str]) -> str | None:
    """The variable that set `key`, or the table or list holding it."""
    for candidate, variable in origins.items():
        if key == candidate or key.startswith((f"{candidate}.", f"{candidate}[")):
            return variable
    return None


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
    set from the environment to their variable, which the line names too. Values of keys
    declared `secret()` never appear in the message.
    """
    try:
        return CONVERTER.structure(dict(data), cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        secrets = secret_texts(data, cls)
        lines = []
        for key, problem in _config_problems(exc, prefix):
            origin = _origin_of(key, origins or {})
            where = f" (set by {origin})" if origin else ""
            lines.append(f"{source}: {key or '(root)'}: {redact(problem, secrets)}{where}")
        raise ConfigError("\n".join(lines)) from None


# -- keeping secrets out of messages ---------------------------------------------------------

# Shorter values are not searched for in messages: they would mask ordinary words.
MIN_REDACTED_CHARS = 4


def secret_texts(data: Any, cls: Any) -> set[str]:
    """Every text held by a key declared `secret()` in `data`, raw (a TOML table) or
    unstructured, read along `cls`."""
    found: set[str] = set()
    _collect_secret_texts(data, cls, found)
    return found


def holds_secrets(tp: Any) -> bool:
    """Whether `tp` is a settings class with a key declared `secret()`, here or deeper: a
    value given where one is expected may be a secret written in the wrong place."""
    if not attrs.has(tp):
        return False
    hints = _type_hints(tp)
    return any(
        field.metadata.get("secret") or holds_secrets(hints.get(field.name))
        for field in attrs.fields(tp)
    )


def _type_hints(cls: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):  # a hint only a type checker can resolve
        return {}


def secret_texts_of(*instances: Any) -> set[str]:
    """Every text held by a key declared `secret()` in these structured settings."""
    found: set[str] = set()
    for instance in instances:
        _collect_secret_texts(CONVERTER.unstructure(instance), type(instance), found)
    return found


def _collect_secret_texts(data: Any, tp: Any, found: set[str]) -> None:
    if holds_secrets(tp) and not isinstance(data, Mapping):
        _collect_texts(data, found)
    elif attrs.has(tp) and isinstance(data, Mapping):
        hints = _type_hints(tp)
        for field in attrs.fields(tp):
            if field.name not in data:
                continue
            if field.metadata.get("secret"):
                _collect_texts(data[field.name], found)
            else:
                _collect_secret_texts(data[field.name], hints.get(field.name), found)
    elif _is_dict(tp) and isinstance(data, Mapping):
        args = typing.get_args(tp)
        for value in data.values():
            _collect_secret_texts(value, args[1] if len(args) == 2 else None, found)
    elif _is_list(tp) and isinstance(data, list | tuple):
        args = typing.get_args(tp)
        for item in data:
            _collect_secret_texts(item, args[0] if args else None, found)
    elif typing.get_origin(tp) in (typing.Union, types.UnionType):
        for option in typing.get_args(tp):
            _collect_secret_texts(data, option, found)


def _collect_texts(value: Any, found: set[str]) -> None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= MIN_REDACTED_CHARS:
            found.add(text)
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect_texts(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_texts(item, found)


def redact(message: str, secrets: Iterable[str]) -> str:
    """`message` with every occurrence of each secret replaced by the mask: the last line
    of defence for messages written elsewhere (a plugin's `config_problems`)."""
    for text in sorted(secrets, key=len, reverse=True):
        message = message.replace(text, MASK)
    return message


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


class Problems:
    """Every problem of one config, one line each, in the order found.

    A key whose value could not be read (a missing variable) is reported once: later
    complaints about the empty value left in its place would only repeat it.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []
        # key -> line, for values that could not be read (see `resolve_env_references`).
        self.unresolved: dict[str, str] = {}

    def add_lines(self, lines: Iterable[str]) -> None:
        """Lines already formatted `SOURCE: KEY...`."""
        self.lines += [line for line in lines if not self._repeats_unresolved(line)]

    def extend(self, problems: Iterable[str], secrets: Iterable[str] = ()) -> None:
        """Problems written `KEY: what is wrong` (a plugin's `config_problems`); secrets
        are masked: a message might quote a value it should not."""
        texts = list(secrets)
        self.add_lines(f"{self.source}: {redact(problem, texts)}" for problem in problems)

    def _repeats_unresolved(self, line: str) -> bool:
        text = line.removeprefix(f"{self.source}: ")
        return any(
            text.startswith(key) and text[len(key):len(key) + 1] in {":", " ", ".", "[", "="}
            for key in self.unresolved
        )

    def all(self) -> list[str]:
        return [*self.unresolved.values(), *self.lines]

    def __bool__(self) -> bool:
        return bool(self.unresolved or self.lines)

    def __str__(self) -> str:
        return "\n".join(self.all())


def _structure_sections(
    merged: Mapping[str, Any], source: str, origins: Mapping[str, str], problems: Problems
) -> Config:
    """Each `[section]` structured on its own, so a bad one hides no problem of another;
    one that cannot be read keeps its defaults."""
    fields = {field.name: field for field in attrs.fields(Config) if field.init}
    hints = _type_hints(Config)
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


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def core_problems(config: Config) -> list[str]:
    """The kernel's values that are well-typed but unusable, each `KEY: what is wrong`."""
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
    for key, zero_allowed in (
        ("database.connect_timeout_seconds", False),
        ("database.pool_acquire_timeout_seconds", False),
        ("database.statement_timeout_seconds", True),
        ("aws.connect_timeout_seconds", False),
        ("aws.read_timeout_seconds", False),
        ("aws.readiness_cache_seconds", True),
    ):
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value < 0 or (value == 0 and not zero_allowed):
            expected = "0 or more" if zero_allowed else "more than 0"
            problems.append(f"{key}: expected {expected}, got {value}")
    if config.aws.max_attempts < 1:
        problems.append(f"aws.max_attempts: expected at least 1, got {config.aws.max_attempts}")
    for key, networks in (("http.trusted_proxies", http.trusted_proxies),
                          ("metrics.allowed_networks", config.metrics.allowed_networks)):
        try:
            parse_networks(networks)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    if http.max_body_bytes < 1:
        problems.append(f"http.max_body_bytes: expected a positive int, got {http.max_body_bytes}")
    problems += _server_problems(server)
    if config.logging.level.upper() not in LOG_LEVELS:
        problems.append(
            f"logging.level: expected one of {', '.join(LOG_LEVELS)}, got {config.logging.level!r}"
        )
    return problems


# AWS secret access keys are 40 characters long.
AWS_SECRET_KEY_CHARS = 40
_LOCAL_ORIGINS = ("localhost", "127.", "[::1]", "0.0.0.0")


def production_problems(config: Config) -> list[str]:
    """Values fine on a developer's machine that a production deployment must not run with.
    Only files are held to them (`load_config`): code and tests build production configs
    on SQLite to exercise production behaviour."""
    problems = []
    if config.database.url.startswith("sqlite"):
        problems.append("database.url: SQLite is for development and tests; production needs "
                        "postgresql://USER:PASSWORD@HOST/DB")
    for origin in config.http.cors_origins:
        host = origin.partition("://")[2]
        if origin.lower() == "null" or host.lower().startswith(_LOCAL_ORIGINS):
            problems.append(f"http.cors_origins: {origin!r} is a development origin; list the "
                            "web clients' public origins (https://...)")
    if not config.http.trusted_proxies:
        problems.append(
            f"http.trusted_proxies: empty, yet clients' addresses are read from "
            f"{config.http.client_address_header!r}: list the load balancer's networks, or "
            "every client shares its address (rate limits)"
        )
    aws = config.aws
    if bool(aws.access_key_id) != bool(aws.secret_access_key):
        problems.append("aws.access_key_id, aws.secret_access_key: set both, or neither (the "
                        "task or instance role)")
    elif aws.secret_access_key and len(aws.secret_access_key) != AWS_SECRET_KEY_CHARS:
        problems.append(f"aws.secret_access_key: an AWS secret access key is "
                        f"{AWS_SECRET_KEY_CHARS} characters long, got "
                        f"{len(aws.secret_access_key)}")
    return problems


# Smaller cannot hold an ordinary request line, Host and a session cookie.
MIN_HEADER_BYTES = 4096


def _server_problems(server: ServerSection) -> list[str]:
    problems = []
    if not 0 <= server.port <= 65535:
        problems.append(f"server.port: expected 0-65535, got {server.port}")
    if server.workers < 1:
        problems.append(f"server.workers: expected at least 1, got {server.workers}")
    if server.max_header_bytes < MIN_HEADER_BYTES:
        problems.append(
            f"server.max_header_bytes: expected at least {MIN_HEADER_BYTES}, "
            f"got {server.max_header_bytes}"
        )
    if server.max_headers < 1:
        problems.append(f"server.max_headers: expected at least 1, got {server.max_headers}")
    if server.graceful_shutdown_seconds < 0:
        problems.append(
            "server.graceful_shutdown_seconds: expected 0 or more, "
            f"got {server.graceful_shutdown_seconds}"
        )
    return problems


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
        return MASK if url else url  # not a URL: no telling which part is the secret
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
