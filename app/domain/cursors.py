"""Keyset cursors of order lists (docs/api.md#total-count).

An `offset` page makes PostgreSQL walk every index entry before it; a cursor names the last
order of the page before (its order date and id, the list's sort key), so the next page
starts at it in the index whatever its depth. The text is opaque to clients: base64url of
the two values, checked when it comes back.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt

from app.domain.errors import ApiError, ErrorKind
from app.domain.limits import MAX_ID_LENGTH

_SEPARATOR = "|"


def encode(order_date: dt.datetime, order_id: str) -> str:
    text = f"{order_date.isoformat()}{_SEPARATOR}{order_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(cursor: str) -> tuple[dt.datetime, str]:
    """(order date, order id) of the order the page continues after; 400 (28) when the text
    is not a cursor this service gave out."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, order_id = text.split(_SEPARATOR, 1)
        order_date = dt.datetime.fromisoformat(when)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _bad() from None
    if order_date.tzinfo is None or not order_id or len(order_id) > MAX_ID_LENGTH:
        raise _bad()
    if "\x00" in order_id:
        raise _bad()
    return order_date, order_id


def _bad() -> ApiError:
    return ApiError(
        ErrorKind.INVALID_QUERY,
        "Invalid query parameter after: not a cursor from this list's Link header.",
        "?after",
    )
