"""A status change's write: on PostgreSQL the row, its history row and its event go in one
statement (no BEGIN and COMMIT of their own), and all three are there afterwards."""

from __future__ import annotations

import uuid

from core.events import events_since
from tests.video import workflow
from tests.video.shares.support import queries_made
from tests.video.support import TRANSCODER, run_in_app, status_history, user

ALICE = user("alice")


def test_a_status_change_reads_the_row_then_writes_once_on_postgres(client, db_url):
    key = workflow.upload(client, ALICE)
    video = workflow.register(client, ALICE, key).json()
    response, statements = queries_made(
        lambda: workflow.set_status(client, TRANSCODER, video["id"], "COMPLETED"))
    assert response.status_code == 200, response.text
    # The row read, then the write: one statement on PostgreSQL; on SQLite the update,
    # the history row and the event in a transaction.
    assert statements == (2 if db_url.startswith("postgres") else 4)
    history = run_in_app(client, lambda: status_history(uuid.UUID(video["id"])))
    assert [(row["from_status"], row["to_status"], row["changed_by"]) for row in history] == [
        (None, "IN_PROGRESS", "user:alice"), ("IN_PROGRESS", "COMPLETED", "service:transcoder")]
    events = run_in_app(client, lambda: events_since(owner_id="alice"))
    changed = [event for event in events if event.type == "video.status_changed"]
    assert [(event.subject, event.data["from"], event.data["to"]) for event in changed] == [
        (video["id"], "IN_PROGRESS", "COMPLETED")]
