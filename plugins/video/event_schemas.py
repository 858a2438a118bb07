"""The JSON Schema of each video event's `data` (plugins/video/outbox.py writes them),
published in the OpenAPI document's `webhooks` through the `event_schemas` hook. A test
validates every recorded event against its schema, so the two cannot drift apart."""

from __future__ import annotations

from typing import Any

from plugins.video.states import FailureCode, Status, Visibility

_TEXT: dict[str, Any] = {"type": "string"}
_OPTIONAL_TEXT: dict[str, Any] = {"type": ["string", "null"]}
_TIME: dict[str, Any] = {"type": "string", "format": "date-time"}
_STATUS: dict[str, Any] = {"enum": [status.value for status in Status]}

VIDEO_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "format": "uuid"},
    "title": _TEXT,
    "description": _TEXT,
    "visibility": {"enum": [visibility.value for visibility in Visibility]},
    "processing_status": _STATUS,
    "user_id": {**_TEXT, "description": "The owner's id"},
    "uploader": {
        "type": "object", "additionalProperties": False, "required": ["id", "name"],
        "properties": {"id": _TEXT, "name": _OPTIONAL_TEXT},
    },
    "video_s3_key": _TEXT,
    "thumbnail_s3_key": _OPTIONAL_TEXT,
    "size_bytes": {"type": "integer", "minimum": 0},
    "content_type": _TEXT,
    "duration_seconds": {"type": ["number", "null"]},
    "failure_reason": _OPTIONAL_TEXT,
    "failure_code": {"enum": [*(code.value for code in FailureCode), None]},
    "created_at": _TIME,
    "updated_at": _TIME,
    "version": {"type": "integer", "minimum": 1,
                "description": "The video's version: its ETag is this number, quoted"},
}


def _video(description: str, **extra: Any) -> dict[str, Any]:
    """The video as events show it, with `extra` fields of the event's own."""
    properties = {**VIDEO_FIELDS, **extra}
    return {"type": "object", "description": description, "additionalProperties": False,
            "required": sorted(properties), "properties": properties}


EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "video.created": _video("A video was registered (its upload's metadata saved)."),
    "video.updated": _video(
        "The owner edited the video.",
        changes={"type": "array", "items": _TEXT, "description": "The fields edited"}),
    "video.status_changed": _video(
        "The video's processing status changed.",
        **{"from": _STATUS, "to": _STATUS, "reason": _OPTIONAL_TEXT}),
    "video.progress": _video(
        "The transcoder reported progress on a video IN_PROGRESS.",
        progress={"type": ["integer", "null"], "minimum": 0, "maximum": 100},
        stage=_OPTIONAL_TEXT,
        eta_seconds={"type": ["integer", "null"], "minimum": 0},
        attempt={"type": ["integer", "null"], "minimum": 1,
                 "description": "The transcoder's lease attempt, when it holds a lease"}),
    "video.deleted": _video("The owner deleted the video; its objects are being removed."),
    "upload.completed": {
        "type": "object", "additionalProperties": False,
        "description": "A multipart upload was completed; the video is registered next.",
        "required": ["upload_id", "video_s3_key", "content_type", "size_bytes"],
        "properties": {
            "upload_id": {"type": "string", "format": "uuid"},
            "video_s3_key": _TEXT,
            "content_type": _TEXT,
            "size_bytes": {"type": "integer", "minimum": 1},
        },
    },
}
