"""Dates in and out, as docs/contract.md#shapes rules.

In: ISO 8601 with or without milliseconds, `Z` or an offset, or `YYYY-MM-DD HH:MM:SS` (UTC).
Out: ISO 8601 UTC with milliseconds and `Z`, as every example of the contract.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_date(raw: str) -> datetime:
    """Raises ValueError for anything that is not one of the accepted forms."""
    text = raw.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_date(value: datetime | None) -> str:
    if value is None:
        return ""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
