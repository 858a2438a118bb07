"""The access table of docs/playback.md, walked cell by cell on both databases: for each
kind of video (the rows) and each caller (the columns), the ways in that answer the video
are exactly the ones the table lists. The table is parsed from the document and held equal
to ACCESS, so the two cannot drift apart."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.video import workflow
from tests.video.cdn_keys import KEY_ID, pem
from tests.video.playback.support import ALICE, BOB, TRANSCODER, completed_with_ladder, registered
from tests.video.shares.support import SHARED, created, shares_path, update_share
from tests.video.workflow import ANONYMOUS, PREFIX, Credentials

DOC = Path(__file__).parents[3] / "docs" / "playback.md"
NO_LINK = None  # a cell of a video that has no share link
COLUMNS = ("anonymous", "another user", "owner", "service (SigV4)", "share holder")
CALLERS: dict[str, Credentials] = {"anonymous": ANONYMOUS, "another user": BOB,
                                   "owner": ALICE, "service (SigV4)": TRANSCODER}
# Every way in but the token's is tried by each caller; the token's by its holder only.
CALLER_WAYS = ("get", "list", "mine", "hls", "cookies", "by-key")
TOKEN_WAYS = ("open", "shared-hls")
OWNER_VIEW = {"get", "mine", "hls", "cookies"}
IN_PROGRESS = {"anonymous": set(), "another user": set(), "owner": {"get", "mine", "cookies"},
               "service (SigV4)": {"by-key"}, "share holder": NO_LINK}


def _shared(holder: set[str]) -> dict[str, set[str] | None]:
    return {"anonymous": set(), "another user": set(), "owner": OWNER_VIEW,
            "service (SigV4)": {"by-key"}, "share holder": holder}


ACCESS: dict[str, dict[str, set[str] | None]] = {
    "public, completed": {
        "anonymous": {"get", "list", "hls", "cookies"},
        "another user": {"get", "list", "hls", "cookies"},
        "owner": {"get", "list", "mine", "hls", "cookies"},
        "service (SigV4)": {"get", "list", "hls", "cookies", "by-key"},
        "share holder": NO_LINK},
    "public, in progress": IN_PROGRESS,
    "unlisted, completed": {
        "anonymous": {"get", "hls", "cookies"},
        "another user": {"get", "hls", "cookies"},
        "owner": OWNER_VIEW,
        "service (SigV4)": {"get", "hls", "cookies", "by-key"},
        "share holder": NO_LINK},
    "unlisted, in progress": IN_PROGRESS,
    "private, completed": {**_shared(set()), "share holder": NO_LINK},
    "private, in progress": IN_PROGRESS,
    "shared, live": _shared({"open", "shared-hls"}),
    "shared, expired": _shared(set()),
    "shared, revoked": _shared(set()),
    "shared, used up": _shared({"shared-hls"}),
}
SETTINGS = {"playback_base_url": "https://cdn.example.com/v", "cdn_key_id": KEY_ID,
            "cdn_private_key": pem(), "cdn_signed_cookies": True,
            "cdn_cookie_domain": "example.com"}


# -- the document's table ------------------------------------------------------------------


def _cell(text: str) -> set[str] | None:
    if text == "no link":
        return NO_LINK
    return set() if text == "—" else {way.strip() for way in text.split(",")}


def documented_table() -> dict[str, dict[str, set[str] | None]]:
    """The table under `## Access` in docs/playback.md: {row: {column: ways}}."""
    section = DOC.read_text(encoding="utf-8").split("\n## Access\n", 1)[1]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    assert header == ["video", *COLUMNS], header
    table = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == "way":  # the next table: the ways in
            break
        if set(cells[0]) <= {"-"}:
            continue
        table[cells[0]] = {column: _cell(text) for column, text in zip(COLUMNS, cells[1:],
                                                                      strict=True)}
    return table


def test_the_documented_table_is_the_one_walked():
    assert documented_table() == ACCESS


# -- the video of each row -------------------------------------------------------------------


class Row:
    """A video of alice's in the row's state, and the token of its link if it has one."""

    def __init__(self, client: Any, s3: Any, name: str) -> None:
        self.client = client
        kind, _, state = name.partition(", ")
        visibility = "PRIVATE" if kind == "shared" else kind.upper()
        if state == "in progress":
            self.video_id, self.key = registered(client, visibility)
        else:
            self.video_id, self.key = completed_with_ladder(client, s3, visibility)
        self.token: str | None = None
        if kind == "shared":
            self.token = self._link(state)

    def _link(self, state: str) -> str:
        share = created(self.client, self.video_id,
                        **({"max_views": 1} if state == "used up" else {}))
        assert self.client.get(share["url"]).status_code == 200  # opened once
        if state == "expired":
            update_share(self.client, uuid.UUID(share["id"]),
                         expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        elif state == "revoked":
            revoked = self.client.delete(f"{shares_path(self.video_id)}/{share['id']}",
                                         **ALICE.request_options())
            assert revoked.status_code == 204
        token: str = share["token"]
        return token


# -- the ways in: whether each answers the video ----------------------------------------------


def _answered(response: httpx.Response, yes: int, no: tuple[int, ...]) -> bool:
    assert response.status_code in (yes, *no), (response.request.url, response.text)
    return response.status_code == yes


def _listed(response: httpx.Response, video_id: str) -> bool:
    if not _answered(response, 200, (401,)):
        return False
    return video_id in [video["id"] for video in response.json()]


def _playlists(client: Any, base: str, caller: Credentials) -> bool:
    answers = [_answered(client.get(path, **caller.request_options()), 200, (404,))
               for path in (f"{base}/playback.m3u8", f"{base}/playback/hls/v0/index.m3u8")]
    assert len(set(answers)) == 1, answers  # the master and a variant agree
    return answers[0]


def _get(row: Row, caller: Credentials) -> bool:
    return _answered(workflow.get_video(row.client, caller, row.video_id), 200, (404,))


def _list(row: Row, caller: Credentials) -> bool:
    return _listed(workflow.list_public(row.client, caller, limit=100), row.video_id)


def _mine(row: Row, caller: Credentials) -> bool:
    return _listed(workflow.list_mine(row.client, caller, limit=100), row.video_id)


def _hls(row: Row, caller: Credentials) -> bool:
    return _playlists(row.client, f"{PREFIX}/{row.video_id}", caller)


def _cookies(row: Row, caller: Credentials) -> bool:
    answer = row.client.post(f"{PREFIX}/{row.video_id}/playback-cookies",
                             **caller.request_options())
    if not _answered(answer, 204, (404,)):
        assert "set-cookie" not in answer.headers
        return False
    return True


def _by_key(row: Row, caller: Credentials) -> bool:
    answer = workflow.find_by_key(row.client, caller, row.key)
    if not _answered(answer, 200, (401, 403)):
        return False
    return bool(answer.json()["video_id"] == row.video_id)


def _open(row: Row, caller: Credentials) -> bool:
    return _answered(row.client.get(f"{SHARED}/{row.token}", **caller.request_options()),
                     200, (404,))


def _shared_hls(row: Row, caller: Credentials) -> bool:
    return _playlists(row.client, f"{SHARED}/{row.token}", caller)


WAYS: dict[str, Callable[[Row, Credentials], bool]] = {
    "get": _get, "list": _list, "mine": _mine, "hls": _hls, "cookies": _cookies,
    "by-key": _by_key, "open": _open, "shared-hls": _shared_hls,
}


def _observed(row: Row) -> dict[str, set[str] | None]:
    seen: dict[str, set[str] | None] = {
        column: {way for way in CALLER_WAYS if WAYS[way](row, caller)}
        for column, caller in CALLERS.items()}
    seen["share holder"] = NO_LINK if row.token is None else {
        way for way in TOKEN_WAYS if WAYS[way](row, ANONYMOUS)}
    return seen


@pytest.fixture
def client(make_video_client):
    return make_video_client(SETTINGS)


@pytest.mark.parametrize("name", list(ACCESS))
def test_each_row_of_the_table_holds(client, s3, name):
    assert _observed(Row(client, s3, name)) == ACCESS[name]


def test_without_public_discovery_anonymous_and_services_get_a_401(make_video_client, s3):
    client = make_video_client({**SETTINGS, "public_discovery": False})
    row = Row(client, s3, "shared, live")
    assert client.patch(f"{PREFIX}/{row.video_id}", json={"visibility": "PUBLIC"},
                        **ALICE.request_options()).status_code == 200
    for caller in (ANONYMOUS, TRANSCODER):
        options = caller.request_options()
        answers = [client.get(f"{PREFIX}/{row.video_id}", **options),
                   client.get(f"{PREFIX}/", **options),
                   client.get(f"{PREFIX}/{row.video_id}/playback.m3u8", **options),
                   client.post(f"{PREFIX}/{row.video_id}/playback-cookies", **options)]
        assert [answer.status_code for answer in answers] == [401] * 4
    assert _shared_hls(row, ANONYMOUS) and _open(row, ANONYMOUS)  # the token needs no sign-in
