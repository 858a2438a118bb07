"""Request bodies read into attrs classes: a strict cattrs converter for JSON that
reports every bad field at once."""

from __future__ import annotations

import datetime as dt
import enum
import typing
import uuid
from typing import Any

import attrs
import cattrs
from attrs import NOTHING
from cattrs.errors import AttributeValidationNote, ClassValidationError

from core.config.converter import strict_hook


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
