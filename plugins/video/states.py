"""Visibility, processing status and the status state machine."""

from __future__ import annotations

import enum


class Visibility(enum.Enum):
    PUBLIC = "PUBLIC"
    UNLISTED = "UNLISTED"
    PRIVATE = "PRIVATE"


class Status(enum.Enum):
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class FailureCode(enum.Enum):
    """Why processing failed, as a machine reads it (the free-text reason is for people)."""

    UNSUPPORTED_CODEC = "unsupported_codec"
    CORRUPT_INPUT = "corrupt_input"
    TIMEOUT = "timeout"
    CHECKSUM_MISMATCH = "checksum_mismatch"
    EMPTY_UPLOAD = "empty_upload"
    LEASE_EXPIRED = "lease_expired"
    INTERNAL = "internal"


# The same status again is not a transition: it is an idempotent success.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.IN_PROGRESS: frozenset({Status.COMPLETED, Status.FAILED}),
    Status.FAILED: frozenset({Status.IN_PROGRESS}),  # retry
    Status.COMPLETED: frozenset({Status.IN_PROGRESS}),  # reprocess
}


def allowed_from(status: Status) -> list[Status]:
    """The statuses `status` may move to, in a stable order."""
    return sorted(TRANSITIONS[status], key=lambda allowed: allowed.value)


def can_move(old: Status, new: Status) -> bool:
    return new in TRANSITIONS[old]


def is_discoverable(status: Status, visibility: Visibility) -> bool:
    """Anyone may open a video that is completed and public or unlisted."""
    return status is Status.COMPLETED and visibility is not Visibility.PRIVATE
