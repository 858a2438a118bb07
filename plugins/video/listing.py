"""What a listing request asks for: its filters, its order and where it starts.

No web framework here: the routes hand over the query's `(name, value)` pairs. A listing
takes only the parameters it names, each once, so a misspelt or not yet offered filter
is a 422 naming it rather than a page that silently ignores it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Sequence

import attrs

from core.errors import ValidationFailed
from core.schema import text_problem
from plugins.video.pagination import Cursor, Sort
from plugins.video.search import SearchQuery, parse_query

# What every listing takes; the public one may also be narrowed to one uploader.
LISTING_PARAMETERS = frozenset({"limit", "cursor", "sort", "created_after", "created_before",
                                "q"})
PUBLIC_LISTING_PARAMETERS = LISTING_PARAMETERS | {"user_id"}
SORTS = [sort.value for sort in Sort]
# RFC 3339's date-time: a full date and time with seconds, and an offset or Z.
_RFC3339 = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
                      r"([Zz]|[+-][0-9]{2}:[0-9]{2})")
_TIMESTAMP_HINT = ("must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z "
                   "(in a URL, write + as %2B)")


@attrs.frozen
class Listing:
    """A listing's order, its filters, and the cursor it continues after (None: the first
    page)."""

    sort: Sort = Sort.NEWEST
    created_after: dt.datetime | None = None
    created_before: dt.datetime | None = None
    user_id: str | None = None
    cursor: Cursor | None = None
    # Only the videos matching this search (`?q=`).
    search: SearchQuery | None = None


# The first page of the default order, unfiltered: what most visitors ask for.
DEFAULT_LISTING = Listing()


def parse_listing(params: Sequence[tuple[str, str]], accepted: Collection[str]) -> Listing:
    """The listing `params` ask for, or a 422 naming every parameter that is unknown,
    repeated or malformed."""
    if not params:
        return DEFAULT_LISTING
    values = _single_values(params, accepted)
    search = parse_query(values["q"]) if "q" in values else None
    sort = _sort(values.get("sort"), search)
    created_after = _timestamp(values, "created_after")
    created_before = _timestamp(values, "created_before")
    if created_after and created_before and created_after >= created_before:
        raise ValidationFailed([
            {"field": name, "message": "created_after must be earlier than created_before"}
            for name in ("created_after", "created_before")
        ])
    return Listing(sort=sort, created_after=created_after, created_before=created_before,
                   user_id=_user_id(values.get("user_id")),
                   cursor=_cursor(values.get("cursor"), sort, search), search=search)


def _single_values(params: Sequence[tuple[str, str]], accepted: Collection[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    errors = []
    allowed = ", ".join(sorted(accepted))
    for name, value in params:
        if name not in accepted:
            errors.append({"field": name, "message": f"is not a parameter here; use {allowed}"})
        elif name in values:
            errors.append({"field": name, "message": "must be given once"})
        values[name] = value
    if errors:
        raise ValidationFailed(list({error["field"]: error for error in errors}.values()))
    return values


def _sort(text: str | None, search: SearchQuery | None) -> Sort:
    """The order asked for; a search's results are best first unless another is named."""
    if text is None:
        return Sort.NEWEST if search is None else Sort.RELEVANCE
    try:
        sort = Sort(text)
    except ValueError:
        raise ValidationFailed.field("sort", f"must be one of {', '.join(SORTS)}") from None
    if sort is Sort.RELEVANCE and search is None:
        raise ValidationFailed.field("sort", "relevance needs a search: give q as well")
    return sort


def _timestamp(values: dict[str, str], name: str) -> dt.datetime | None:
    """An RFC 3339 timestamp, in UTC (as both databases compare them)."""
    text = values.get(name)
    if text is None:
        return None
    if _RFC3339.fullmatch(text):
        try:
            return dt.datetime.fromisoformat(text.upper()).astimezone(dt.UTC)
        except (ValueError, OverflowError):
            pass
    raise ValidationFailed.field(name, _TIMESTAMP_HINT)


def _user_id(text: str | None) -> str | None:
    if text == "":
        raise ValidationFailed.field("user_id", "must not be empty")
    if text is not None and (problem := text_problem(text, "line")):
        raise ValidationFailed.field("user_id", problem)
    return text


def _cursor(text: str | None, sort: Sort, search: SearchQuery | None) -> Cursor | None:
    """The cursor, which must come from a page in the same order, and in relevance order
    of the same search (`?cursor=` is none)."""
    if not text:
        return None
    cursor = Cursor.decode(text)
    if cursor.sort is not sort:
        raise ValidationFailed.field(
            "cursor", f"was issued for sort={cursor.sort.value}, not sort={sort.value}; "
                      "start again without one")
    if search is not None and sort is Sort.RELEVANCE and cursor.search != search.digest:
        raise ValidationFailed.field(
            "cursor", "was issued for another q; start again without one")
    return cursor
