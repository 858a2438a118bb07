"""The webhooks plugin's tables. The `(endpoint, event_id)` unique index lives in the
migration."""

from __future__ import annotations

from piccolo.columns import BigInt, BigSerial, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class WebhookDelivery(Table, tablename="webhook_deliveries"):
    """One event for one endpoint, and the log of its attempts. Unique on
    `(endpoint, event_id)`: an event offered twice is queued once."""

    id = BigSerial(primary_key=True)
    endpoint = Varchar(length=64)
    # The outbox event's id: the `webhook-id` header, the same on every attempt.
    event_id = BigInt()
    event_type = Varchar(length=64)
    # The JSON body sent, `{"type", "timestamp", "data"}`, written once.
    payload = Text()
    created_at = Timestamptz()
    # When a worker may next try it (a retry's backoff, or a claim's lease); null once
    # delivered or abandoned.
    next_attempt_at = Timestamptz(null=True, default=None, index=True)
    # Attempts since it was (re)queued: the place in the retry schedule.
    attempts = Integer(default=0)
    # Claims ever: a worker records an attempt only while no later claim took it over.
    claims = Integer(default=0)
    last_attempt_at = Timestamptz(null=True, default=None)
    last_status_code = Integer(null=True, default=None)
    last_latency_ms = Integer(null=True, default=None)
    # Why the last attempt failed; for an answer, its status and a short body excerpt.
    last_error = Text(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)
    # Set when the retry schedule ran out; `itube webhooks replay` queues it again.
    abandoned_at = Timestamptz(null=True, default=None)


class WebhookEndpointState(Table, tablename="webhook_endpoint_states"):
    """What the workers learnt about an endpoint: since when it fails, whether it was
    disabled for it. Endpoints themselves live in config."""

    name = Varchar(length=64, primary_key=True)
    # Digest of the endpoint's url, event types and enabled flag when it was disabled: a
    # different one in config turns it back on.
    config_digest = Varchar(length=64, default="")
    # The first failure of the current streak; null after a success.
    failing_since = Timestamptz(null=True, default=None)
    disabled_at = Timestamptz(null=True, default=None)
    disabled_reason = Text(null=True, default=None)
