"""The config reference: one markdown table per config section, every key with its type,
its default and its meaning, read from the settings classes and the comments above their
fields. docs/operations.md holds it between two markers; `itube config reference` prints it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import json
import pkgutil
import re
import textwrap
import tokenize
import typing
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from core.config import Config, type_name
from core.errors import ConfigError

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"
_BLOCK = re.compile(rf"^{re.escape(BEGIN)}$.*?^{re.escape(END)}$", re.M | re.S)
WRITE_COMMAND = "itube config reference --write docs/operations.md"
BUILTIN_PACKAGE = "plugins"
# A `dict[str, Settings]` field's entries are tables named by their key: `keys.<name>`.
ENTRY_PLACEHOLDER = "<name>"


class UndocumentedKeys(ConfigError):
    """Fields without a comment above them: the reference would have nothing to say."""


# -- which sections ------------------------------------------------------------------------


def kernel_sections() -> list[tuple[str, type]]:
    """`(name, class)` of each kernel section, in the order of `Config`'s fields."""
    hints = typing.get_type_hints(Config)
    return [(field.name, hints[field.name]) for field in attrs.fields(Config)
            if field.init and attrs.has(hints[field.name])]


def builtin_plugin_settings() -> dict[str, type]:
    """What every package in plugins/ declares with its `register_settings()`."""
    package = importlib.import_module(BUILTIN_PACKAGE)
    declared: dict[str, type] = {}
    for module_info in pkgutil.iter_modules(package.__path__):
        if not module_info.ispkg:
            continue
        plugin = importlib.import_module(f"{BUILTIN_PACKAGE}.{module_info.name}")
        register = getattr(plugin, "register_settings", None)
        if register is not None:
            declared.update(register() or {})
    return declared


def loaded_plugin_settings(plugin_names: Iterable[str]) -> dict[str, type]:
    """What the plugins a config loads declare (entry points and dotted paths included)."""
    from core.plugins import make_plugin_manager

    declared: dict[str, type] = {}
    for result in make_plugin_manager(plugin_names).hook.register_settings():
        declared.update(result or {})
    return declared


def all_sections(plugin_names: Iterable[str] = ()) -> list[tuple[str, type]]:
    """The kernel's sections, then every plugin table (built-in, and those the named
    plugins declare), sorted by name."""
    plugin_settings = {**builtin_plugin_settings(), **loaded_plugin_settings(plugin_names)}
    return [*kernel_sections(),
            *((f"plugins.{name}", cls) for name, cls in sorted(plugin_settings.items()))]


# -- what a field says -----------------------------------------------------------------------


@attrs.frozen
class Key:
    """One row of a table."""

    name: str
    type: str
    default: str
    meaning: str


@attrs.frozen
class Table:
    """One section, or a table nested in one."""

    name: str
    about: str
    keys: list[Key]


def field_comments(cls: type) -> dict[str, str]:
    """Field name -> the comment on the lines directly above it, joined into one text,
    for `cls` and the attrs classes it inherits from."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if attrs.has(klass) and "__attrs_attrs__" in klass.__dict__:
            comments.update(_own_field_comments(klass))
    return comments


def _own_field_comments(cls: type) -> dict[str, str]:
    source = textwrap.dedent(inspect.getsource(cls))
    comment_lines = _comment_lines(source)
    found = {}
    for name, number in _field_lines(source):
        above: list[str] = []
        previous = number - 1
        while previous in comment_lines:
            above.insert(0, comment_lines[previous])
            previous -= 1
        if above:
            found[name] = " ".join(above)
    return found


def _field_lines(source: str) -> Iterator[tuple[str, int]]:
    """(name, line number) of each field the class body annotates."""
    class_def = ast.parse(source).body[0]
    assert isinstance(class_def, ast.ClassDef)
    for statement in class_def.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            yield statement.target.id, statement.lineno


def _comment_lines(source: str) -> dict[int, str]:
    """Line number -> text of each line holding only a comment."""
    comments = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.line.strip().startswith("#"):
            comments[token.start[0]] = token.string.lstrip("#").strip()
    return comments


def toml_value(value: Any) -> str:
    """`value` as a TOML file writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + " }"
    if attrs.has(type(value)):
        return toml_value(attrs.asdict(value))
    raise TypeError(f"no TOML form for {value!r}")


def default_of(field: Any) -> Any:
    """The value a field starts with when the file leaves it out (factories called)."""
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            raise TypeError(f"{field.name}: a default computed from other fields")
        return default.factory()
    return default


def nested_class(tp: Any) -> type | None:
    """The settings class a field holds (`PasswordPolicy`), or each entry of a
    `dict[str, Settings]` holds; None for plain values."""
    if attrs.has(tp):
        return typing.cast(type, tp)
    if typing.get_origin(tp) is dict:
        args = typing.get_args(tp)
        if len(args) == 2 and attrs.has(args[1]):
            return typing.cast(type, args[1])
    return None


def describe_type(tp: Any, *, secret: bool) -> str:
    if attrs.has(tp):
        named = "table"
    elif nested_class(tp) is not None:
        named = "tables, by name"
    else:
        named = type_name(tp)
    return f"{named}, secret" if secret else named


# -- the tables ------------------------------------------------------------------------------


def tables(name: str, cls: type) -> Iterator[Table]:
    """The table of `cls` under `[name]`, then those of the classes it nests."""
    hints = typing.get_type_hints(cls)
    comments = field_comments(cls)
    fields = [field for field in attrs.fields(cls) if field.init]
    missing = [field.name for field in fields if field.name not in comments]
    if missing:
        raise UndocumentedKeys("\n".join(
            f"{name}.{key}: no comment above the field in {_where(cls)}" for key in missing))
    keys, nested = [], []
    for field in fields:
        tp = hints[field.name]
        inner = nested_class(tp)
        default = "" if attrs.has(tp) else f"`{toml_value(default_of(field))}`"
        keys.append(Key(field.name, describe_type(tp, secret=bool(field.metadata.get("secret"))),
                        default, comments[field.name]))
        if inner is not None:
            child = field.name if attrs.has(tp) else f"{field.name}.{ENTRY_PLACEHOLDER}"
            nested.append((f"{name}.{child}", inner))
    yield Table(name, _docstring(cls), keys)
    for child_name, child_cls in nested:
        yield from tables(child_name, child_cls)


def _where(cls: type) -> str:
    path = Path(inspect.getsourcefile(cls) or "?")
    if path.is_relative_to(Path.cwd()):
        path = path.relative_to(Path.cwd())
    return f"{path} ({cls.__qualname__})"


def _docstring(cls: type) -> str:
    doc = cls.__dict__.get("__doc__")
    # attrs gives an undocumented class a docstring of its signature: not documentation.
    if not doc or doc.startswith(f"{cls.__name__}("):
        return ""
    return " ".join(inspect.cleandoc(doc).split())


def render_table(table: Table, level: int) -> str:
    heading = "#" * level + f" `[{table.name}]`"
    rows = [f"| `{key.name}` | {_cell(key.type)} | {_cell(key.default)} | {_cell(key.meaning)} |"
            for key in table.keys]
    parts = [heading, ""]
    if table.about:
        parts += [table.about, ""]
    parts += ["| key | type | default | meaning |", "|---|---|---|---|", *rows]
    return "\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(sections: Iterable[tuple[str, type]], level: int = 3) -> str:
    """Every table of every section; a nested table's heading is one level deeper. Every
    undocumented field of every section is reported at once."""
    parts, problems = [], []
    for name, cls in sections:
        try:
            for table in tables(name, cls):
                parts.append(render_table(table, level if table.name == name else level + 1))
        except UndocumentedKeys as exc:
            problems.append(str(exc))
    if problems:
        raise UndocumentedKeys("\n".join(["every key needs a comment above its field:",
                                          *problems]))
    return "\n\n".join(parts) + "\n"


def reference(plugin_names: Iterable[str] = ()) -> str:
    """The whole block, markers included, as docs/operations.md holds it."""
    note = (f"<!-- Generated from the settings classes and the comments above their fields: "
            f"edit those, then run `{WRITE_COMMAND}`. -->")
    return f"{BEGIN}\n{note}\n\n{render(all_sections(plugin_names))}{END}"


def block_in(text: str, source: str = "the text") -> str:
    """The reference block `text` holds, markers included: each marker on a line of its
    own, so prose may name them."""
    found = _BLOCK.search(text)
    if found is None:
        raise ConfigError(f"{source}: no block to replace: {BEGIN} and {END}, each on a "
                          "line of its own")
    return found[0]


def write(path: Path, block: str) -> bool:
    """Replace the block in the file at `path`; whether anything changed."""
    text = path.read_text(encoding="utf-8")
    updated = text.replace(block_in(text, str(path)), block)
    if updated == text:
        return False
    path.write_text(updated, encoding="utf-8")
    return True
