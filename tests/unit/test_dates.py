"""Every date goes out as RFC 3339 with a four-digit year and milliseconds, on both flavours
(docs/contract.md#shapes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain.dates import format_date, parse_date
from app.domain.servicenow_rendering import cancellation_body, echo_order, render_order
from app.domain.tmf_rendering import render_tmf_order
from tests.helpers.stored_orders import stored_order

RFC3339_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
EARLY = datetime(310, 1, 2, 1, 57, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (EARLY, "0310-01-02T01:57:45.000Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31T23:59:59.999Z"),
        (parse_date("2021-06-08T07:34:59.5+02:00"), "2021-06-08T05:34:59.500Z"),
    ],
)
def test_format_date_pads_the_year_to_four_digits(value: datetime, text: str) -> None:
    assert format_date(value) == text


def _dates(body: Any) -> list[str]:
    """Every value of a key ending in `Date` or named `date`, at any depth."""
    found: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if isinstance(value, str) and (key.endswith("Date") or key == "date"):
                found.append(value)
            else:
                found += _dates(value)
    elif isinstance(body, list):
        for value in body:
            found += _dates(value)
    return found


def test_both_flavours_write_early_years_with_four_digits() -> None:
    stored = stored_order(
        order_date=EARLY, requested_start_date=EARLY, completion_date=datetime(5, 1, 1, tzinfo=UTC)
    )
    for body in (render_order(stored), render_tmf_order(stored, "http://h")):
        dates = _dates(body)
        assert "0310-01-02T01:57:45.000Z" in dates and "0005-01-01T00:00:00.000Z" in dates
        assert all(RFC3339_MS.match(d) for d in dates), dates


def test_echoed_dates_are_written_as_every_date_goes_out() -> None:
    payload = {
        "requestedStartDate": "2018-01-15 09:37:40",
        "requestedCompletionDate": "2018-01-15T09:37:40.508Z",
        "expectedCompletionDate": "",
        "note": [{"text": "n", "date": "0310-01-02T03:57:45+02:00"}],
        "serviceOrderItem": [{"id": "100", "committedDueDate": "2018-01-15T10:37:40+01:00"}],
    }
    echoed = echo_order(payload, stored_order(), state="new")
    assert echoed["requestedStartDate"] == "2018-01-15T09:37:40.000Z"
    assert echoed["requestedCompletionDate"] == "2018-01-15T09:37:40.508Z"
    assert echoed["expectedCompletionDate"] == ""
    assert echoed["note"][0]["date"] == "0310-01-02T01:57:45.000Z"
    assert echoed["serviceOrderItem"][0]["committedDueDate"] == "2018-01-15T09:37:40.000Z"
    assert payload["requestedStartDate"] == "2018-01-15 09:37:40"

    cancelled = cancellation_body({"requestedCancellationDate": "2023-01-24 11:56:21"}, "x")
    assert cancelled["requestedCancellationDate"] == "2023-01-24T11:56:21.000Z"
