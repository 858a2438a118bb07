"""Request and response models: attrs classes with constraints kept in field metadata, a
cattrs converter for JSON, and the JSON Schema of each class for the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import enum
import re
import types
import typing
import uuid
from typing import Any

import attrs
import cattrs
from attrs import NOTHING
from cattrs.errors import AttributeValidationNote, ClassValidationError

from core.config.converter import strict_hook

# -- text a database can store and a person cannot be fooled by ------------------------------

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


# -- JSON converter --------------------------------------------------------------------------


def _structure_uuid(value: Any, _: Any) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a UUID string")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValueError("must be a UUID") from None


def _structure_datetime(value: Any, _: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time") from None


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in cls)
        raise ValueError(f"must be one of {allowed}") from None


def _attrs_hook_factory(cls: type, converter: cattrs.Converter) -> Any:
    """Structure an attrs class field by field, running each field's converter and
    validators too, so one 422 lists every bad field rather than the first."""
    fields = [field for field in attrs.fields(cls) if field.init]
    hints = typing.get_type_hints(cls)

    def structure_fields(data: Any, _: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        values: dict[str, Any] = {}
        errors: list[Exception] = []
        for field in fields:
            key = field.alias or field.name
            if key not in data:
                if field.default is NOTHING:
                    errors.append(_noted(KeyError(key), cls, key, hints.get(field.name)))
                continue
            try:
                values[key] = _structure_field(converter, field, hints.get(field.name), data[key])
            except Exception as exc:
                errors.append(_noted(exc, cls, key, hints.get(field.name)))
        if errors:
            raise ClassValidationError(f"While structuring {cls.__name__}", errors, cls)
        return cls(**values)

    return structure_fields


def _structure_field(converter: cattrs.Converter, field: Any, hint: Any, raw: Any) -> Any:
    value = raw if hint is None or hint is Any else converter.structure(raw, hint)
    if field.converter is not None:
        value = field.converter(value)
    if field.validator is not None:
        try:
            field.validator(None, field, value)
        except (ValueError, TypeError):
            raise
        except Exception:  # a validator that needs the instance: __init__ runs it
            pass
    return value


def _noted(exc: Exception, cls: type, name: str, tp: Any) -> Exception:
    exc.__notes__ = [*getattr(exc, "__notes__", []),
                     AttributeValidationNote(f"Structuring {cls.__name__} @ {name}", name, tp)]
    return exc


def _structure_str(value: Any, _: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected str, got {value!r}")
    if "\x00" in value:  # no database stores it, no client needs it
        raise ValueError("must not contain NUL characters")
    return value


def make_json_converter() -> cattrs.Converter:
    converter = cattrs.Converter()
    converter.register_structure_hook_factory(attrs.has, _attrs_hook_factory)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, strict_hook(bool, _no_text))
    converter.register_structure_hook(uuid.UUID, _structure_uuid)
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    # Hooks dispatch on the class's MRO: StrEnum and IntEnum need their own entries, or the
    # str and int hooks above would take them and accept any string or number.
    for base in (enum.Enum, enum.StrEnum, enum.IntEnum):
        converter.register_structure_hook(base, _structure_enum)
    converter.register_unstructure_hook(uuid.UUID, str)
    converter.register_unstructure_hook(dt.datetime, lambda value: value.isoformat())
    return converter


def _no_text(text: str) -> Any:
    raise ValueError(text)


def _structure_int(value: Any, _: Any) -> int:
    # JSON Schema's "integer" is any number without a fractional part: 5.0 is one.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected int, got {value!r}")
    return value


def _structure_float(value: Any, _: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected number, got {value!r}")
    return float(value)


JSON = make_json_converter()


def field_errors(exc: BaseException) -> list[dict[str, str]]:
    """Flatten a cattrs validation error into `[{"field": "a.b", "message": "..."}]`."""
    errors = []
    for line in cattrs.transform_error(exc, path="$", format_exception=_describe):
        message, _, path = line.rpartition(" @ ")
        field = path.removeprefix("$").lstrip(".") or "(body)"
        errors.append({"field": field, "message": message or line})
    return errors


def _describe(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "this field is required"
    if isinstance(exc, ValueError | TypeError):
        return str(exc)
    return "invalid value"


# -- JSON Schema -----------------------------------------------------------------------------


def json_schema(tp: Any, components: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of `tp`; attrs classes are added to `components` and referenced."""
    if attrs.has(tp):
        name = tp.__name__
        if name not in components:
            components[name] = {}  # placeholder: breaks recursion
            components[name] = _object_schema(tp, components)
        return {"$ref": f"#/components/schemas/{name}"}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        schemas = [json_schema(a, components) for a in members]
        if len(members) < len(args):
            schemas.append({"type": "null"})
        return schemas[0] if len(schemas) == 1 else {"anyOf": schemas}
    if origin in (list, tuple, typing.Sequence) or tp in (list, tuple):
        item = args[0] if args else Any
        return {"type": "array", "items": json_schema(item, components)}
    if origin is dict or tp is dict:
        value = args[1] if len(args) == 2 else Any
        return {"type": "object", "additionalProperties": json_schema(value, components)}
    if origin is typing.Literal:
        return {"enum": list(args)}
    return _scalar_schema(tp)


def _scalar_schema(tp: Any) -> dict[str, Any]:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"type": "string", "enum": [member.value for member in tp]}
    scalars: dict[Any, dict[str, Any]] = {
        # The JSON converter refuses NUL in every string (`_structure_str`): say so.
        str: {"type": "string", "not": {"pattern": "\\x00"}},
        bool: {"type": "boolean"},
        int: {"type": "integer"},
        float: {"type": "number"},
        uuid.UUID: {"type": "string", "format": "uuid"},
        dt.datetime: {"type": "string", "format": "date-time"},
        dt.date: {"type": "string", "format": "date"},
    }
    return dict(scalars.get(tp, {}))


def _object_schema(cls: type, components: dict[str, Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required = []
    for field in attrs.fields(cls):
        property_schema = json_schema(hints.get(field.name, Any), components)
        property_schema.update({k: v for k, v in field.metadata.items() if k != "secret"})
        properties[field.name] = property_schema
        if field.default is NOTHING:
            required.append(field.name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "("):
        schema["description"] = cls.__doc__.strip().splitlines()[0]
    return schema
