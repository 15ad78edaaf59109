"""Service Orders > All: what a list request asks for, and how its pages link.

Pages are keyset pages over (order_date DESC, sys_id DESC), the order of the indexes
service_order_listing and service_order_state: a page deep in a million orders costs what the
first one does, where OFFSET would read and drop every row before it. A cursor names the row
a page starts after, as opaque URL-safe text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from app.domain.errors import ApiError, ErrorKind
from app.domain.states import STATES

PAGE_SIZE: Final = 25
MAX_SEARCH_LENGTH: Final = 200
CUSTOMER_MATCHES: Final = 20
"""Customers whose name starts with the search text that the search follows: a short prefix
("a") must not fan out over every customer; the page says when there were more."""


@dataclass(frozen=True)
class Cursor:
    """A row's place in a newest-first list: its time (an order's order_date, an entry's
    processed_at) and its id, which breaks ties."""

    at: datetime
    key: str


@dataclass(frozen=True)
class ListingQuery:
    state: str | None
    search: str | None
    cursor: Cursor | None
    newer: bool  # True: the page before `cursor` (newer orders); False: after it (older)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    older: Cursor | None  # the cursor of the next (older) page, if there is one
    newer: Cursor | None  # the cursor of the previous (newer) page, if there is one


def encode_cursor(cursor: Cursor) -> str:
    raw = f"{cursor.at.isoformat()}|{cursor.key}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """ValueError for anything encode_cursor did not write."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError("not a page cursor") from None
    date, sep, key = raw.partition("|")
    if not sep or not key or len(key) > 128:
        raise ValueError("not a page cursor")
    parsed = datetime.fromisoformat(date)
    if parsed.tzinfo is None:
        raise ValueError("not a page cursor")
    return Cursor(parsed, key)


def parse_listing(query: Mapping[str, str]) -> ListingQuery:
    """The list's query string: `state`, `q`, and `before` (older page) or `after` (newer)."""
    state = query.get("state") or None
    if state is not None and state not in STATES:
        raise ApiError(
            ErrorKind.INVALID_QUERY,
            f"Unknown state {state!r}; known: {', '.join(STATES)}.",
            "?state",
        )
    search = (query.get("q") or "").strip() or None
    if search is not None and (len(search) > MAX_SEARCH_LENGTH or "\x00" in search):
        raise ApiError(
            ErrorKind.INVALID_QUERY,
            f"Search text is limited to {MAX_SEARCH_LENGTH} characters.",
            "?q",
        )
    newer = bool(query.get("after"))
    text = query.get("after") or query.get("before")
    try:
        cursor = decode_cursor(text) if text else None
    except ValueError:
        raise ApiError(ErrorKind.INVALID_QUERY, "The page link is not valid.", "?before") from None
    return ListingQuery(state, search, cursor, newer and cursor is not None)


def _cursor_of(row: Mapping[str, Any]) -> Cursor:
    return Cursor(row["order_date"], row["sys_id"])


def page_of(fetched: Sequence[Mapping[str, Any]], query: ListingQuery, size: int) -> Page:
    """The page from up to `size` + 1 rows read in the query's direction (newest first, or
    for a newer page oldest first): the extra row only says that another page follows."""
    more = len(fetched) > size
    rows = [dict(r) for r in fetched[:size]]
    if query.newer:
        rows.reverse()
        has_newer, has_older = more, True
    else:
        has_newer, has_older = query.cursor is not None, more
    if not rows:
        return Page([], None, None)
    return Page(
        rows,
        older=_cursor_of(rows[-1]) if has_older else None,
        newer=_cursor_of(rows[0]) if has_newer else None,
    )
