"""What a settings class's field types say: lists, tables, literals and resolved hints."""

from __future__ import annotations

import typing
from typing import Any, Literal


def is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is Literal


def is_list(tp: Any) -> bool:
    return tp is list or typing.get_origin(tp) is list


def is_dict(tp: Any) -> bool:
    return tp is dict or typing.get_origin(tp) is dict


def type_hints(cls: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):  # a hint only a type checker can resolve
        return {}
