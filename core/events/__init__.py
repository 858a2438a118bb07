"""Events: every change of a video written to a transactional outbox, and a dispatcher
that hands them to sinks (webhooks, AWS, the live broker) at least once, in id order.

- `record(...)` appends an event inside the caller's open write transaction
  (`core.db.write_transaction`), so the event commits or rolls back with the change;
  `wake(ctx)` after the commit nudges this process's dispatcher.
- `insert_from(source, n)` is `record` for a plugin's single PostgreSQL statement that
  changes a row and records its event at once (`row_values` gives the parameters;
  `insert_row` records them the usual way).
- `events_since(...)` reads the outbox (replay, resuming a stream).
- Plugins contribute sinks with the `event_sinks` hook and the live pub/sub with
  `event_broker` (firstresult; the kernel's in-process broker is the `trylast` default).

The running app keeps its `EventsRuntime` (the dispatcher and the broker) in
`ctx.state["events"]` (`runtime(ctx)` returns it). The lifespan puts it there once every
plugin's `startup` has run (sinks and brokers may use what `startup` opened), so a route
subscribes with `runtime(ctx).broker.subscribe()`. See docs/events.md.
"""

from core.events.model import EVENT_TYPES, Event, EventBroker, EventSink
from core.events.outbox import events_since, insert_from, insert_row, record, row_values
from core.events.runtime import STATE_KEY, EventsRuntime, runtime, wake

__all__ = [
    "EVENT_TYPES",
    "STATE_KEY",
    "Event",
    "EventBroker",
    "EventSink",
    "EventsRuntime",
    "events_since",
    "insert_from",
    "insert_row",
    "record",
    "row_values",
    "runtime",
    "wake",
]
