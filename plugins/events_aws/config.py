"""Settings of the EventBridge event sink: `[plugins.events_aws]`."""

from __future__ import annotations

import attrs

from core.events import EVENT_TYPES

# EventBridge keeps sources starting with "aws." for AWS's own services.
RESERVED_SOURCE_PREFIX = "aws."
# The bus every AWS account has, used when nothing else is named or provisioned.
DEFAULT_BUS = "default"


@attrs.define
class EventsAwsSettings:
    # Name or ARN of the EventBridge bus the events are put on; "" means the bus local AWS
    # provisioned, else the account's "default" bus.
    event_bus: str = ""
    # The `source` of every entry, what a rule's pattern matches (`{"source": ["itube"]}`).
    source: str = "itube"
    # Event types put on the bus (e.g. ["video.status_changed"]); empty means every type.
    event_types: list[str] = attrs.Factory(list)


def settings_problems(settings: EventsAwsSettings) -> list[str]:
    """Values that parse but cannot work."""
    problems = []
    if not settings.source.strip():
        problems.append("plugins.events_aws.source: must not be empty")
    elif settings.source.startswith(RESERVED_SOURCE_PREFIX):
        problems.append(f"plugins.events_aws.source: {settings.source!r} starts with "
                        f"{RESERVED_SOURCE_PREFIX!r}, which EventBridge keeps for AWS services")
    unknown = [name for name in settings.event_types if name not in EVENT_TYPES]
    if unknown:
        problems.append(f"plugins.events_aws.event_types: unknown {', '.join(map(repr, unknown))}"
                        f"; expected some of {', '.join(EVENT_TYPES)}")
    return problems
