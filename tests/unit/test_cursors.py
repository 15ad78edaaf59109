"""List cursors go out and come back unchanged; anything else is a 400 naming `after`."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import cursors
from app.domain.errors import ApiError, ErrorKind


@given(
    st.datetimes(timezones=st.just(dt.UTC)),
    st.text(min_size=1, max_size=255).filter(lambda t: "\x00" not in t),
)
def test_a_cursor_round_trips(when: dt.datetime, order_id: str) -> None:
    assert cursors.decode(cursors.encode(when, order_id)) == (when, order_id)


def _raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        _raw("no separator"),
        _raw("2024-01-01T00:00:00|"),  # naive date, no id
        _raw("not a date|abc"),
        _raw("2024-01-01T00:00:00+00:00|" + "x" * 256),
        _raw("2024-01-01T00:00:00+00:00|a\x00b"),
        base64.urlsafe_b64encode(b"\xff\xfe|x").decode(),
    ],
)
def test_anything_else_is_refused(cursor: str) -> None:
    with pytest.raises(ApiError) as refused:
        cursors.decode(cursor)
    assert refused.value.kind is ErrorKind.INVALID_QUERY
    assert refused.value.datapath == "?after"


@given(st.text(max_size=300))
def test_decoding_never_raises_anything_but_the_400(text: str) -> None:
    try:
        cursors.decode(text)
    except ApiError as refused:
        assert refused.kind is ErrorKind.INVALID_QUERY
