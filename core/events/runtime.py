"""The running app's events: its dispatcher and broker, kept in `ctx.state["events"]`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from core.events.dispatcher import Dispatcher
from core.events.model import EventBroker

if TYPE_CHECKING:
    from core.context import AppContext

STATE_KEY = "events"


@attrs.define
class EventsRuntime:
    dispatcher: Dispatcher
    broker: EventBroker


def runtime(ctx: AppContext) -> EventsRuntime:
    """The app's events runtime (there once every plugin's `startup` has run)."""
    events: EventsRuntime = ctx.state[STATE_KEY]
    return events


def wake(ctx: Any) -> None:
    """Nudge this process's dispatcher after a commit that recorded events (the poll
    would find them within `dispatch_interval_seconds` anyway). Harmless before start-up
    and after shut-down."""
    events = getattr(ctx, "state", {}).get(STATE_KEY)
    if events is not None:
        events.dispatcher.wake()
