"""The outputs a transcoder reports with COMPLETED: checked against the video's processed
prefix, stored as JSON text with the row, read back (once per distinct text) for rendering."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import attrs
import orjson

from core.errors import ValidationFailed
from core.schema import text_problem
from plugins.video.keys import MAX_KEY_LENGTH
from plugins.video.models import MAX_OUTPUTS, OutputKind, OutputReport
from plugins.video.states import Status

# Kinds a video has at most one of: the master playlist and the poster.
SINGLE_KINDS = (OutputKind.HLS, OutputKind.POSTER)


@attrs.frozen
class StoredOutput:
    """An output as stored with its video."""

    kind: OutputKind
    key: str
    width: int | None = None
    height: int | None = None
    bitrate: int | None = None
    codecs: str | None = None


def check_outputs(status: Status, outputs: Sequence[OutputReport] | None, prefix: str) -> None:
    """422 naming `outputs` (or `outputs[i].key`) unless the list goes with COMPLETED, keeps
    the limits, and every key lies under `prefix` (the video's processed prefix)."""
    if outputs is None:
        return
    if status is not Status.COMPLETED:
        raise ValidationFailed.field("outputs", "only with status COMPLETED")
    if len(outputs) > MAX_OUTPUTS:
        raise ValidationFailed.field("outputs", f"at most {MAX_OUTPUTS} outputs")
    for kind in SINGLE_KINDS:
        if sum(output.kind is kind for output in outputs) > 1:
            raise ValidationFailed.field("outputs", f"at most one output of kind {kind.value}")
    for index, output in enumerate(outputs):
        problem = key_problem(output.key, prefix)
        if problem:
            raise ValidationFailed.field(f"outputs[{index}].key", problem)


def key_problem(key: str, prefix: str) -> str | None:
    """Why `key` cannot be an output of the video whose processed prefix is `prefix`."""
    if len(key) > MAX_KEY_LENGTH:
        return f"must be at most {MAX_KEY_LENGTH} characters"
    if text_problem(key, "line") or ".." in key.split("/"):
        return "must not contain control characters, bidirectional controls or '..'"
    if not key.startswith(f"{prefix}/") or key.endswith("/"):
        return f"must be a key under {prefix}/ (the video's processed prefix)"
    return None


def outputs_json(outputs: Sequence[OutputReport] | None) -> str | None:
    """The text stored with the video; None for no outputs (the seed's form)."""
    if not outputs:
        return None
    return orjson.dumps([attrs.asdict(StoredOutput(
        kind=output.kind, key=output.key, width=output.width, height=output.height,
        bitrate=output.bitrate, codecs=output.codecs)) for output in outputs]).decode()


@functools.lru_cache(maxsize=4096)
def stored_outputs(text: str | None) -> tuple[StoredOutput, ...]:
    """The outputs stored as `text`: parsed once per distinct text (a listing shows the
    same videos again and again), as immutable values."""
    if not text:
        return ()
    return tuple(StoredOutput(**{**item, "kind": OutputKind(item["kind"])})
                 for item in orjson.loads(text))


def output_of(text: str | None, kind: OutputKind) -> StoredOutput | None:
    """The first stored output of `kind`, if any."""
    return next((output for output in stored_outputs(text) if output.kind is kind), None)
