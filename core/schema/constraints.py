"""Field constraints of request and response models: validated on input and published in
the JSON Schema; text a database can store and a person cannot be fooled by."""

from __future__ import annotations

import re
import typing
from typing import Any

import attrs
from attrs import NOTHING

# Embeddings, overrides and isolates: they reorder what a reader sees ("Trojan Source").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# What a multi-line text (a description) may hold besides printable characters.
BLOCK_WHITESPACE = frozenset("\n\t")
TextKind = typing.Literal["line", "block"]
# Published with the field's schema, so clients know before they send.
TEXT_PATTERNS: dict[str, str] = {
    "line": "^[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$",
    "block": "^[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f]*$",
}


def _is_control(char: str) -> bool:
    code = ord(char)
    return code < 32 or 127 <= code < 160


def text_problem(value: str, kind: TextKind = "line") -> str | None:
    """Why `value` is not acceptable text, or None. A "line" (a name, a title) holds no
    control character and no bidirectional override; a "block" (a description) may also
    hold newlines and tabs, and bidirectional controls."""
    allowed = BLOCK_WHITESPACE if kind == "block" else frozenset()
    for char in value:
        if _is_control(char) and char not in allowed:
            other = " other than newline and tab" if kind == "block" else ""
            return f"must not contain control characters{other} (found U+{ord(char):04X})"
        if kind == "line" and char in BIDI_CONTROLS:
            return f"must not contain bidirectional control characters (found U+{ord(char):04X})"
    return None


def constrained(
    default: Any = NOTHING,
    *,
    min_length: int | None = None,
    max_length: int | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    pattern: str | None = None,
    text: TextKind | None = None,
    strip: bool = False,
    description: str | None = None,
    example: Any = None,
) -> Any:
    """An attrs field whose limits are validated and also published in the JSON Schema.
    `text` refuses control characters (and, for a "line", bidirectional overrides)."""
    if text is not None and pattern is None:
        pattern = TEXT_PATTERNS[text]
    metadata = {
        key: value
        for key, value in {
            "minLength": min_length,
            "maxLength": max_length,
            "minimum": minimum,
            "maximum": maximum,
            # Checked with `fullmatch`; a JSON Schema pattern matches anywhere unless anchored.
            "pattern": anchored(pattern) if pattern else None,
            "description": description,
            "example": example,
        }.items()
        if value is not None
    }
    compiled = re.compile(pattern) if pattern else None

    def check(_instance: Any, attribute: attrs.Attribute, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, str):
            problem = text_problem(value, text) if text is not None else None
            if problem:
                raise ValueError(problem)
            if min_length is not None and len(value) < min_length:
                raise ValueError(f"must be at least {min_length} characters")
            if max_length is not None and len(value) > max_length:
                raise ValueError(f"must be at most {max_length} characters")
            if compiled and text is None and not compiled.fullmatch(value):
                raise ValueError(f"must match {pattern}")
        elif isinstance(value, int | float):
            if minimum is not None and value < minimum:
                raise ValueError(f"must be at least {minimum}")
            if maximum is not None and value > maximum:
                raise ValueError(f"must be at most {maximum}")

    converter = _strip if strip else None
    return attrs.field(default=default, validator=check, converter=converter, metadata=metadata)


def anchored(pattern: str) -> str:
    """`pattern` as a JSON Schema `pattern` that means what `re.fullmatch(pattern)` checks.
    A JSON Schema pattern matches anywhere in the value unless anchored: "[0-9]{4}" alone
    would promise that "code 1234 ok" is valid where a full match refuses it."""
    whole = pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$")
    if whole and "|" not in pattern:  # "^a|b$" is anchored on one side of each branch only
        return pattern
    return f"^(?:{pattern})$"


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value
