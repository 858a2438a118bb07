"""What the quota route returns."""

from __future__ import annotations

import datetime as dt

import attrs


@attrs.define
class Usage:
    """How much of a limit is used; `limit` is null when there is none."""

    used: int
    limit: int | None


@attrs.define
class HourlyUsage:
    """Upload URLs handed out in the current hour, which ends at `resets_at` (null when
    none was counted yet, or there is no limit)."""

    used: int
    limit: int | None
    resets_at: dt.datetime | None = None


@attrs.define
class QuotaUsage:
    """The caller's usage against the configured limits."""

    videos: Usage
    bytes: Usage
    upload_urls_per_hour: HourlyUsage
