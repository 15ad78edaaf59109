"""Dates in and out, as docs/contract.md#shapes rules.

In: ISO 8601 with or without milliseconds, `Z` or an offset, or `YYYY-MM-DD HH:MM:SS` (UTC).
Out: ISO 8601 UTC with milliseconds and `Z`, as every example of the contract.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def parse_date(raw: str) -> datetime:
    """Raises ValueError for anything that is not one of the accepted forms, and for a date
    that is not between the years 1 and 9999 once in UTC (what both Python and PostgreSQL
    hold: 9999-12-31T23:00:00-14:00 is in year 10000)."""
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{raw!r} is outside the years 1 to 9999") from None


def format_date(value: datetime | None) -> str:
    """Four-digit years always, as RFC 3339 wants (strftime writes year 310 as "310")."""
    if value is None:
        return ""
    utc = value.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )


Bounds = tuple[datetime | None, datetime | None]
_MS = timedelta(milliseconds=1)


def millisecond_range(operator: str, value: datetime) -> Bounds | None:
    """[low, high) of the instants whose millisecond, as shown, compares by `operator` ("eq",
    "gt", "gte", "lt", "lte") with `value`; None on a side is unbounded, and None overall
    means no instant does. A filter written this way on the column itself can use its
    index, where truncating the column to milliseconds could not."""
    floor = value.replace(microsecond=value.microsecond // 1000 * 1000)
    try:
        next_ms: datetime | None = floor + _MS
    except OverflowError:
        next_ms = None
    ceiling = value if floor == value else next_ms
    if operator == "eq":
        return (value, next_ms) if floor == value else None
    if operator == "gt":
        return None if next_ms is None else (next_ms, None)
    if operator == "gte":
        return None if ceiling is None else (ceiling, None)
    if operator == "lt":
        return (None, ceiling)
    if operator == "lte":
        return (None, next_ms)
    raise ValueError(f"unknown operator {operator!r}")
