"""The swagger's definitions as the validation tests use them: references resolved, formats
checked, so that a valid answer is no accident of a check that looked at nothing."""

from __future__ import annotations

import pytest

from app.domain.states import STATES
from app.domain.tmf_rendering import render_tmf_order
from tests.helpers.stored_orders import stored_order
from tests.helpers.tmf_schema import (
    assert_matches_definition,
    definition_errors,
    definition_names,
)

BASE = "https://orders.example.com"


@pytest.mark.parametrize("state", STATES)
def test_a_rendered_order_is_valid_in_every_state(state: str) -> None:
    items = ("completed", "error") if state == "error" else (state,)
    assert_matches_definition(render_tmf_order(stored_order(state, items), BASE), "ServiceOrder")


def test_nested_definitions_and_formats_are_checked() -> None:
    order = render_tmf_order(stored_order(), BASE)
    order["state"] = "new"
    order["orderDate"] = "310-01-02T01:57:45.000Z"
    order["serviceOrderItem"][0]["state"] = "in_progress"
    order["relatedParty"][0].pop("@referredType")
    errors = definition_errors(order, "ServiceOrder")
    assert [e.split(":")[0] for e in errors] == [
        "/orderDate",
        "/relatedParty/0",
        "/serviceOrderItem/0/state",
        "/state",
    ], errors
    assert "is not a 'date-time'" in errors[0] and "'@referredType' is a required" in errors[1]
    relative = {"id": "c1", "href": "/tmf-api/x", "serviceOrder": {"id": "o1"}}
    assert definition_errors(relative, "CancelServiceOrder") == [
        "/href: '/tmf-api/x' is not a 'uri'"
    ]


def test_events_validate_with_the_same_helper() -> None:
    assert "ServiceOrderCreateEvent" in definition_names()
    event = {
        "eventId": "e1",
        "eventTime": "2021-06-08T05:34:59.000Z",
        "eventType": "ServiceOrderCreateEvent",
        "event": {"serviceOrder": render_tmf_order(stored_order(), BASE)},
    }
    assert_matches_definition(event, "ServiceOrderCreateEvent")
    event["event"]["serviceOrder"]["state"] = "new"
    assert definition_errors(event, "ServiceOrderCreateEvent")
