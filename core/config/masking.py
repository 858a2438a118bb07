"""Keeping secret values out of what is printed: masked dumps and redacted messages."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from core.config.converter import CONVERTER
from core.config.introspection import is_dict, is_list, type_hints

MASK = "********"
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
    hints = type_hints(tp)
    return any(
        field.metadata.get("secret") or holds_secrets(hints.get(field.name))
        for field in attrs.fields(tp)
    )


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
        hints = type_hints(tp)
        for field in attrs.fields(tp):
            if field.name not in data:
                continue
            if field.metadata.get("secret"):
                _collect_texts(data[field.name], found)
            else:
                _collect_secret_texts(data[field.name], hints.get(field.name), found)
    elif is_dict(tp) and isinstance(data, Mapping):
        args = typing.get_args(tp)
        for value in data.values():
            _collect_secret_texts(value, args[1] if len(args) == 2 else None, found)
    elif is_list(tp) and isinstance(data, list | tuple):
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
