"""The strict cattrs converter: unknown keys refused, no silent type coercion."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from cattrs.cols import list_structure_factory, mapping_structure_factory

from core.config.introspection import is_dict, is_list, is_literal


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


def strict_hook(kind: type, parse: Any) -> Any:
    """A structure hook taking a `kind` value as it is, or a string that `parse` reads;
    anything else is a `WrongValue`."""

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


def _structure_literal(value: Any, tp: Any) -> Any:
    allowed = typing.get_args(tp)
    if value in allowed and type(value) in {type(choice) for choice in allowed}:
        return value
    raise WrongValue(f"one of {', '.join(map(repr, allowed))}", value)


def _list_hook_factory(tp: Any, converter: cattrs.Converter) -> Any:
    # cattrs would turn the string "abc" into ["a", "b", "c"]; a list must be a list.
    structure_items = list_structure_factory(tp, converter)

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise WrongValue("a list", value)
        return structure_items(value, tp)

    return hook


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
    converter.register_structure_hook(bool, strict_hook(bool, _parse_bool))
    converter.register_structure_hook(int, strict_hook(int, int))
    converter.register_structure_hook(float, strict_hook(float, float))
    converter.register_structure_hook(str, strict_hook(str, _parse_str))
    converter.register_structure_hook_func(is_literal, _structure_literal)
    converter.register_structure_hook_factory(is_list, _list_hook_factory)
    converter.register_structure_hook_factory(is_dict, _dict_hook_factory)
    converter.register_structure_hook_factory(attrs.has, _attrs_hook_factory)
    return converter


CONVERTER = make_converter()
