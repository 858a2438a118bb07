"""`{name:uuid_text}`: the ids Starlette's `uuid` takes, as their canonical text."""

from __future__ import annotations

import uuid

import pytest
from starlette.routing import Match, Route

import core.routing  # noqa: F401  (registers the convertor)

VIDEO = uuid.UUID("0f8e3f6e-5b1a-4c6e-9d2b-7a1c3e5f7b9d")
ROUTE = Route("/videos/{video_id:uuid_text}", lambda request: None)


def matched(path: str) -> dict[str, object] | None:
    match, child = ROUTE.matches({"type": "http", "path": path, "method": "GET"})
    return child["path_params"] if match is Match.FULL else None


@pytest.mark.parametrize("written", [str(VIDEO), str(VIDEO).upper(), VIDEO.hex,
                                     VIDEO.hex.upper(), str(VIDEO)[:8] + VIDEO.hex[8:]])
def test_every_form_starlettes_uuid_takes_is_its_canonical_text(written):
    assert matched(f"/videos/{written}") == {"video_id": str(VIDEO)}


@pytest.mark.parametrize("written", ["mine", str(VIDEO)[:-1], str(VIDEO) + "0",
                                     "g" + str(VIDEO)[1:]])
def test_what_is_not_a_uuid_does_not_match(written):
    assert matched(f"/videos/{written}") is None


def test_it_builds_the_path_back():
    assert ROUTE.url_path_for(ROUTE.name, video_id=str(VIDEO)) == f"/videos/{VIDEO}"
