"""Starting and stopping the app's events: the broker and the sinks the plugins give,
the kernel's `broker` sink, and the dispatcher over them all."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING

from core.errors import ConfigError
from core.events.broker import BrokerSink
from core.events.dispatcher import Dispatcher
from core.events.model import EventBroker, EventSink
from core.events.runtime import STATE_KEY, EventsRuntime
from core.plugins import flatten, resolve

if TYPE_CHECKING:
    from core.context import AppContext


async def start_events(ctx: AppContext, stack: AsyncExitStack) -> EventsRuntime:
    """Called by the lifespan after the plugins' `startup`; stopped before their
    `shutdown` (the exit stack unwinds in reverse)."""
    broker = await resolve(ctx.pm.hook.event_broker(ctx=ctx))
    if not isinstance(broker, EventBroker):
        raise ConfigError(f"event broker {broker!r} does not satisfy core.events.EventBroker")
    stack.push_async_callback(broker.close)
    sinks = [*flatten(ctx.pm.hook.event_sinks(ctx=ctx)), BrokerSink(broker)]
    _check_sinks(sinks)
    section = ctx.config.events
    dispatcher = Dispatcher(sinks, interval=section.dispatch_interval_seconds,
                            batch_size=section.batch_size,
                            max_backoff=section.max_backoff_seconds)
    events = EventsRuntime(dispatcher=dispatcher, broker=broker)
    ctx.state[STATE_KEY] = events
    stack.callback(ctx.state.pop, STATE_KEY, None)
    await dispatcher.start()
    stack.push_async_callback(dispatcher.stop)
    return events


def _check_sinks(sinks: list[object]) -> None:
    seen: set[str] = set()
    for sink in sinks:
        if not isinstance(sink, EventSink):
            raise ConfigError(f"event sink {sink!r} does not satisfy core.events.EventSink")
        if sink.name in seen:
            raise ConfigError(f"two event sinks are named {sink.name!r}: each needs its own")
        seen.add(sink.name)
