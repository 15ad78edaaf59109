"""Dates in and out, as docs/contract.md#shapes rules.

In: ISO 8601 with or without milliseconds, `Z` or an offset, or `YYYY-MM-DD HH:MM:SS` (UTC).
Out: ISO 8601 UTC with milliseconds and `Z`, as every example of the contract.
"""

from __future__ import annotations

from datetime import UTC, datetime


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
