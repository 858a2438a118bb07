"""Structuring a table into a settings class, failing with one error that names every bad
key and what it expects, secrets left out."""

from __future__ import annotations

import typing
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from core.config.converter import CONVERTER, WrongValue
from core.config.introspection import is_literal
from core.config.masking import holds_secrets, redact, secret_texts
from core.errors import ConfigError

T = TypeVar("T")


def type_name(tp: Any) -> str:
    """`int`, `list[str]`, `str | None`: how a person writes the type."""
    if is_literal(tp):
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
