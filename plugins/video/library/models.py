"""What the library routes take and return."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from plugins.video.models import CreateVideoRequest
from plugins.video.states import Status, Visibility

_CREATE_FIELDS = attrs.fields_dict(CreateVideoRequest)


def _as_in_create(name: str, description: str | None = None) -> Any:
    """`CreateVideoRequest`'s field `name`, which an edit may leave out: the same checks,
    the same published schema."""
    field = _CREATE_FIELDS[name]
    metadata = dict(field.metadata)
    if description:
        metadata["description"] = description
    return attrs.field(default=None, validator=field.validator, converter=field.converter,
                       metadata=metadata)


@attrs.define
class EditVideoRequest:
    """The fields to change, at least one; those left out keep their value."""

    title: str = _as_in_create("title")
    description: str = _as_in_create("description")
    visibility: Visibility = _as_in_create("visibility")
    thumbnail_s3_key: str | None = _as_in_create(
        "thumbnail_s3_key", "The `media_id` of an uploaded thumbnail; null removes it"
    )


EDITABLE = tuple(field.name for field in attrs.fields(EditVideoRequest))


@attrs.define
class HistoryEntry:
    """A status transition: from (null for the creation), to, when, by whom, why."""

    from_status: Status | None
    to_status: Status
    changed_at: dt.datetime
    changed_by: str = attrs.field(metadata={
        "description": "`user:<id>` (the owner) or `service:<id>` (the transcoder)"})
    reason: str | None = attrs.field(metadata={
        "description": "The failure reason of a move to FAILED; `retry` for an owner's retry"})


HISTORY_FIELDS = tuple(field.name for field in attrs.fields(HistoryEntry))
