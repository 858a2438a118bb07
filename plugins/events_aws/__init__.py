"""Events to Amazon EventBridge: every outbox event (or the configured types) is put on an
event bus, where a team on AWS routes it with its own rules (to SQS, Lambda, Step
Functions...). Load it with `events_aws` in `[app] plugins`; settings in
`[plugins.events_aws]`; docs/events-aws.md describes the entries and the permission."""

from __future__ import annotations

from typing import Any

from core.config import Config
from core.context import AppContext
from core.plugins import hookimpl
from plugins.events_aws.config import EventsAwsSettings, settings_problems
from plugins.events_aws.sink import EventBridgeSink

NAME = "events_aws"


@hookimpl
def register_settings() -> dict[str, type]:
    return {NAME: EventsAwsSettings}


@hookimpl
def config_problems(config: Config, settings: dict[str, Any]) -> list[str]:
    return settings_problems(settings[NAME])


@hookimpl
def event_sinks(ctx: AppContext) -> list[EventBridgeSink]:
    # The AWS clients are made as the app starts: the sink asks for them when it delivers.
    return [EventBridgeSink(ctx.settings(NAME), lambda: ctx.aws)]
