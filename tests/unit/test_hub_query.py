"""A hub subscription's query: parsed once at registration, matched against every event."""

from __future__ import annotations

from typing import Any

import pytest

from app.domain.hub_query import QueryError, matches, parse_query, project


def event(
    event_type: str = "ServiceOrderStateChangeEvent", state: str = "completed"
) -> dict[str, Any]:
    return {
        "eventId": "e1",
        "eventTime": "2026-01-01T00:00:00.000Z",
        "eventType": event_type,
        "correlationId": "o1",
        "domain": "ServiceOrdering",
        "title": "t",
        "description": "d",
        "priority": "normal",
        "timeOcurred": "2026-01-01T00:00:00.000Z",
        "event": {
            "serviceOrder": {
                "id": "o1",
                "href": "/x/o1",
                "state": state,
                "ponr": False,
                "externalId": "BSS1",
                "serviceOrderItem": [{"id": "1", "state": "new"}, {"id": "2", "state": state}],
            }
        },
    }


def test_an_empty_query_takes_every_event() -> None:
    assert matches(parse_query(""), event())
    assert matches(parse_query("  "), event("ServiceOrderCreateEvent"))


def test_event_type_and_attribute_filters_must_all_hold() -> None:
    query = parse_query("eventType=ServiceOrderStateChangeEvent&event.serviceOrder.state=completed")
    assert matches(query, event())
    assert not matches(query, event(state="in_progress"))
    assert not matches(query, event("ServiceOrderCreateEvent"))


def test_a_comma_gives_alternatives() -> None:
    query = parse_query(
        "eventType=ServiceOrderCreateEvent,ServiceOrderStateChangeEvent"
        "&event.serviceOrder.state=cancelled,completed"
    )
    assert matches(query, event())
    assert matches(query, event("ServiceOrderCreateEvent", "cancelled"))
    assert not matches(query, event("ServiceOrderDeleteEvent"))


def test_a_path_through_a_list_holds_when_any_element_holds() -> None:
    query = parse_query("event.serviceOrder.serviceOrderItem.state=new")
    assert matches(query, event(state="completed"))
    assert not matches(parse_query("event.serviceOrder.serviceOrderItem.state=held"), event())


def test_booleans_compare_as_true_and_false_and_encoded_values_are_decoded() -> None:
    assert matches(parse_query("event.serviceOrder.ponr=false"), event())
    assert matches(parse_query("event.serviceOrder.externalId=BSS%31"), event())


def test_fields_keep_the_envelope_the_ids_and_the_paths_named() -> None:
    query = parse_query("fields=event.serviceOrder.state,event.serviceOrder.serviceOrderItem.id")
    kept = project(query, event())
    assert kept["eventId"] == "e1" and kept["eventType"] == "ServiceOrderStateChangeEvent"
    assert kept["event"] == {
        "serviceOrder": {
            "id": "o1",
            "href": "/x/o1",
            "state": "completed",
            "serviceOrderItem": [{"id": "1"}, {"id": "2"}],
        }
    }
    assert project(parse_query("eventType=ServiceOrderCreateEvent"), event()) == event()


@pytest.mark.parametrize(
    "query",
    [
        "eventType",  # no =
        "=x",  # no name
        "eventType=NoSuchEvent",
        "eventType=",  # empty value
        "event.serviceOrder.state=a,,b",
        "event..state=x",
        "orderState=completed",  # not a path into an event
        "fields=",
        "event.serviceOrder.state=%ZZ&x y=1",
        "x" * 2001,
    ],
)
def test_what_cannot_be_read_is_refused(query: str) -> None:
    with pytest.raises(QueryError):
        parse_query(query)
