"""Which events a change raises, and the envelope each is posted in."""

from __future__ import annotations

from datetime import UTC, datetime

from app.domain import events as ev

AT = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def types(raised: list[ev.Raised]) -> list[str]:
    return [r.event_type for r in raised]


def progress(**changes: object) -> list[ev.Raised]:
    facts: dict[str, object] = {
        "state_before": "in_progress",
        "state_after": "in_progress",
        "ponr_before": False,
        "ponr_after": False,
        "items_completed": [],
        "items_changed": False,
        "at": AT,
    }
    return ev.progress_events(**{**facts, **changes})  # type: ignore[arg-type]


def test_a_callback_that_changes_nothing_raises_nothing() -> None:
    assert progress() == []


def test_completion_is_a_state_change_and_the_point_of_no_return_a_milestone() -> None:
    raised = progress(
        state_after="completed", ponr_after=True, items_completed=["1"], items_changed=True
    )
    assert types(raised) == [ev.ORDER_MILESTONE, ev.ORDER_STATE_CHANGE]
    assert raised[0].milestone is not None and raised[0].milestone["name"] == "pointOfNoReturn"
    assert raised[0].milestone["serviceOrderItem"] == [{"id": "1", "itemId": "1"}]


def test_an_item_fulfilled_before_the_order_is_a_milestone_and_an_attribute_change() -> None:
    raised = progress(items_completed=["2"], items_changed=True)
    assert types(raised) == [ev.ORDER_MILESTONE, ev.ORDER_ATTRIBUTE_VALUE_CHANGE]
    assert raised[1].field_path == "serviceOrderItem.state"


def test_a_revision_names_what_it_changed() -> None:
    raised = ev.revision_events(
        {"fields": ["description", "priority"], "itemsAdded": ["3"], "itemsRevised": []},
        "in_progress",
        "revision_received",
    )
    assert types(raised) == [ev.ORDER_ATTRIBUTE_VALUE_CHANGE, ev.ORDER_STATE_CHANGE]
    assert raised[0].field_path == "description,priority,serviceOrderItem"
    same_state = ev.revision_events({"fields": ["note"]}, "revision_received", "revision_received")
    assert types(same_state) == [ev.ORDER_ATTRIBUTE_VALUE_CHANGE]


def test_the_envelope_is_the_swaggers() -> None:
    order = {"id": "o1", "href": "http://h/o1", "priority": "2", "@type": "ServiceOrder"}
    body = ev.build_event(
        ev.state_change("new", "in_progress"), order, event_id="e1", at=AT, correlation_id="o1"
    )
    assert body == {
        "eventId": "e1",
        "eventTime": "2026-01-02T03:04:05.678Z",
        "eventType": "ServiceOrderStateChangeEvent",
        "correlationId": "o1",
        "domain": "ServiceOrdering",
        "title": "Service order state changed",
        "description": "The service order went from new to in_progress.",
        "priority": "2",
        "timeOcurred": "2026-01-02T03:04:05.678Z",
        "event": {"serviceOrder": order},
    }
    cancel = ev.build_event(
        ev.Raised(ev.CANCEL_CREATE, "t", "d"),
        {"id": "c1"},
        event_id="e2",
        at=AT,
        correlation_id="o1",
    )
    assert cancel["event"] == {"cancelServiceOrder": {"id": "c1"}}
    assert cancel["priority"] == "normal" and "fieldPath" not in cancel


def test_field_path_only_where_the_swagger_has_it() -> None:
    raised = ev.Raised(ev.ORDER_ATTRIBUTE_VALUE_CHANGE, "t", "d", field_path="note")
    assert (
        ev.build_event(raised, {}, event_id="e", at=AT, correlation_id="o")["fieldPath"] == "note"
    )
    other = ev.Raised(ev.ORDER_STATE_CHANGE, "t", "d", field_path="note")
    assert "fieldPath" not in ev.build_event(other, {}, event_id="e", at=AT, correlation_id="o")


def test_a_jeopardy_alert_is_added_to_the_orders_list() -> None:
    alert = ev.jeopardy("outboundRequest", "m", AT)
    raised = ev.Raised(ev.ORDER_JEOPARDY, "t", "d", jeopardy=alert)
    body = ev.build_event(raised, {"id": "o"}, event_id="e", at=AT, correlation_id="o")
    assert body["event"]["serviceOrder"]["jeopardyAlert"] == [alert]
