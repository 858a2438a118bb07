"""The JSON Schema of models, for the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
import uuid
from typing import Any

import attrs
from attrs import NOTHING


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
    # Rules across fields ("not both"), which no single field's metadata can say.
    schema.update(getattr(cls, "__json_schema__", {}))
    return schema
