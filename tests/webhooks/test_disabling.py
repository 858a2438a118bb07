"""An endpoint failing for `disable_after_seconds` (or answering 410) is disabled with one
WARNING; a config change or `enable` turns it back on."""

from __future__ import annotations

import datetime as dt
import logging

from plugins.webhooks import queries, service
from plugins.webhooks.service import config_digest
from tests.video.support import run_in_app
from tests.webhooks.conftest import deliver, deliveries, event, run_due, running

WARNINGS = "itube.webhooks"


def disabled_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.name == WARNINGS and record.levelno == logging.WARNING]


def test_sustained_failure_disables_the_endpoint_once(make_webhooks_client, receiver, caplog):
    receiver.default = 500
    client = make_webhooks_client(disable_after_seconds=60)
    running(client).worker.jitter = lambda: 1.0
    deliver(client, [event(1)])
    start = dt.datetime.now(dt.UTC)
    caplog.set_level(logging.INFO, logger=WARNINGS)

    run_due(client, start)
    run_due(client, start + dt.timedelta(seconds=5))
    assert disabled_lines(caplog) == []
    deliver(client, [event(2)])
    report = run_due(client, start + dt.timedelta(seconds=61))

    assert report.disabled == ["main"]
    [line] = disabled_lines(caplog)
    assert line.startswith("webhook endpoint main disabled: every delivery failed for")
    assert "answered 500" in line and "itube webhooks enable main" in line
    # Disabled: nothing is sent, and new events are not queued for it.
    deliver(client, [event(3)])
    assert run_due(client, start + dt.timedelta(days=1)).failed == 0
    assert [row["event_id"] for row in deliveries(client)] == [1, 2]
    assert len(disabled_lines(caplog)) == 1
    status = run_in_app(client, lambda: service.status(running(client).settings))
    assert status[0]["disabled_at"] is not None and status[0]["pending"] == 2

    # `itube webhooks enable` turns it back on: what was pending is sent.
    receiver.default = 200
    assert run_in_app(client, lambda: service.enable(running(client).settings, "main"))
    assert run_due(client, start + dt.timedelta(days=1)).delivered == 2


def test_a_success_ends_the_failure_streak(make_webhooks_client, receiver):
    receiver.answers += [(500, {}), (200, {}), (500, {})]
    client = make_webhooks_client(disable_after_seconds=60)
    running(client).worker.jitter = lambda: 1.0
    start = dt.datetime.now(dt.UTC)
    deliver(client, [event(1)])
    run_due(client, start)
    deliver(client, [event(2)])
    run_due(client, start + dt.timedelta(seconds=30))  # 1 retried and delivered, 2 fails

    report = run_due(client, start + dt.timedelta(seconds=70))

    assert report.disabled == []


def test_a_failure_after_successes_in_one_pass_starts_a_streak(make_webhooks_client, receiver):
    """Successes are recorded together, yet before the failure that follows them."""
    receiver.answers += [(200, {}), (200, {}), (500, {})]
    client = make_webhooks_client()
    deliver(client, [event(1), event(2), event(3)])
    start = dt.datetime.now(dt.UTC)

    report = run_due(client, start)

    assert (report.delivered, report.failed) == (2, 1)
    states = run_in_app(client, queries.endpoint_states)
    assert states["main"]["failing_since"] == start
    assert [row["delivered_at"] is not None for row in deliveries(client)] == [True, True, False]


def test_successes_after_a_failure_in_one_pass_end_its_streak(make_webhooks_client, receiver):
    receiver.answers += [(500, {}), (200, {}), (200, {})]
    client = make_webhooks_client()
    deliver(client, [event(1), event(2), event(3)])

    report = run_due(client)

    assert (report.delivered, report.failed) == (2, 1)
    assert run_in_app(client, queries.endpoint_states)["main"]["failing_since"] is None


def test_410_gone_disables_at_once(make_webhooks_client, receiver, caplog):
    receiver.answers.append((410, {}))
    client = make_webhooks_client()
    deliver(client, [event(1)])
    caplog.set_level(logging.INFO, logger=WARNINGS)

    assert run_due(client).disabled == ["main"]

    [line] = disabled_lines(caplog)
    assert "it answered 410 Gone" in line


def test_a_changed_config_enables_the_endpoint_again(make_webhooks_client, receiver):
    receiver.answers.append((410, {}))
    client = make_webhooks_client()
    deliver(client, [event(1)])
    run_due(client)
    settings = running(client).settings
    same = {e.name: config_digest(e) for e in settings.named_endpoints()}

    assert run_in_app(client, lambda: queries.sync_states(same)) == []
    assert run_in_app(client, queries.disabled_endpoints) == {"main"}
    assert run_in_app(client, lambda: queries.sync_states({"main": "another config"})) == [
        "main"]
    assert run_in_app(client, queries.disabled_endpoints) == set()
