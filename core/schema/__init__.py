"""Request and response models: attrs classes with constraints kept in field metadata, a
cattrs converter for JSON, and the JSON Schema of each class for the OpenAPI document."""

from core.schema.constraints import TEXT_PATTERNS, TextKind, anchored, constrained, text_problem
from core.schema.json_schema import json_schema
from core.schema.structuring import JSON, field_errors, make_json_converter

__all__ = [
    "JSON",
    "TEXT_PATTERNS",
    "TextKind",
    "anchored",
    "constrained",
    "field_errors",
    "json_schema",
    "make_json_converter",
    "text_problem",
]
