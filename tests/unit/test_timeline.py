"""An order's timeline assembled from its rows: every kind of event, in time order, with
cause before effect when rows share a transaction's time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from app.domain.timeline import Event, OrderRecords, assemble, render_lines

T0 = datetime(2026, 5, 4, 10, 0, 0, tzinfo=UTC)
ORDER = "7c5d0000000000000000000000000001"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def records() -> OrderRecords:
    """Rows as the store reads them, deliberately not in time order."""
    created = at(1)  # one transaction: the order and its domain orders share now()
    return OrderRecords(
        ORDER,
        entry={
            "id": ORDER,
            "state": "done",
            "received_at": at(0),
            "processed_at": at(1.2),
            "created_by": "integrator",
            "request_id": "r-42",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "attempts": 1,
            "error": None,
        },
        order={
            "sys_id": ORDER,
            "external_id": "SO-1",
            "state": "completed",
            "created_by": "integrator",
            "created_at": created,
            "traceparent": None,
        },
        revisions=[{"version": 2, "author": "integrator", "created_at": at(5), "changes": {}}],
        domain_orders=[
            {"sys_id": "d2", "item_id": "2", "parent": "d1", "created_at": created},
            {"sys_id": "d1", "item_id": "1", "parent": None, "created_at": created},
        ],
        outbound=[
            {
                "number": "FO0001002",
                "target": "TOM",
                "request_id": "req-b",
                "previous_request_id": None,
                "state": "pending",
                "attempts": 1,
                "response": None,
                "created_at": at(10),
                "updated_at": at(11),
            },
            {
                "number": "FO0001001",
                "target": "SOM",
                "request_id": "req-a",
                "previous_request_id": None,
                "state": "fulfilled",
                "attempts": 2,
                "response": {"externalId": "req-a"},
                "created_at": at(10),
                "updated_at": at(14),
            },
            {
                "number": "FO0001003",
                "target": "SOM",
                "request_id": "req-c",
                "previous_request_id": "req-a",
                "state": "not_applicable",
                "attempts": 0,
                "response": None,
                "created_at": at(20),
                "updated_at": at(20),
            },
        ],
        failures=[
            {
                "request_id": "req-a",
                "target": "SOM",
                "numbers": ["FO0001001"],
                "attempts": 1,
                "last_error": "no answer from SOM (ClientConnectorError)",
                "given_up": False,
                "updated_at": at(12),
            }
        ],
        work_notes=[
            {"text": "Sent.", "author": "system", "item_id": None, "created_at": at(13)},
            {"text": "Item note.", "author": "agent", "item_id": "1", "created_at": at(1)},
        ],
        actions=[
            {
                "action": "initiate_outbound",
                "actor": "agent",
                "detail": {"numbers": ["FO0001001", "FO0001002"]},
                "created_at": at(10),
            }
        ],
        cancellations=[
            {
                "sys_id": "c1",
                "state": "done",
                "cancellation_reason": "customer",
                "created_by": "integrator",
                "created_at": at(30),
            }
        ],
    )


def test_every_event_in_time_order_with_cause_before_effect() -> None:
    events = assemble(records())
    assert [(e.at, e.what) for e in events] == [
        (at(0), "accepted"),
        (at(1), "created"),
        (at(1), "domain order"),
        (at(1), "domain order"),
        (at(1), "work note"),
        (at(1.2), "processed"),
        (at(5), "revised"),
        (at(10), "operator"),
        (at(10), "outbound"),
        (at(10), "outbound"),
        (at(11), "sent"),
        (at(12), "send failed"),
        (at(13), "work note"),
        (at(14), "callback"),
        (at(20), "outbound"),
        (at(30), "cancellation"),
    ]
    details = [e.details for e in events]
    assert details[0] == (
        f"queue entry {ORDER}, by integrator, request id r-42, "
        "trace id 4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert details[1] == f"order {ORDER}, external id SO-1, by integrator"
    # Same instant, the order the store gave: d2 then d1.
    assert (
        details[2].startswith("id d2, line item 2, parent d1")
        and details[3] == "id d1, line item 1"
    )
    assert details[4] == "[1] Item note. (agent)"
    assert details[5] == "state done, attempts 1"
    assert details[7] == "action initiate_outbound, by agent, records FO0001001 FO0001002"
    assert details[8] == "record FO0001002 to TOM, request id req-b"
    assert details[10] == "record FO0001002 to TOM, state pending, attempts 1"
    assert details[11].endswith("attempts 1: no answer from SOM (ClientConnectorError)")
    assert details[13] == "record FO0001001 to SOM, state fulfilled, attempts 2"
    assert details[14] == "record FO0001003 to SOM, request id req-c, revising req-a"
    assert details[15] == "id c1, state done, by integrator, reason customer"


def test_an_entry_in_error_alone_shows_its_error() -> None:
    entry = records().entry
    assert entry is not None
    entry.update(
        state="error",
        attempts=3,
        error={
            "code": 24,
            "reason": "Invalid body field",
            "details": [{"message": "No location no-such-place.", "datapath": "/x"}],
        },
    )
    events = assemble(OrderRecords(ORDER, entry=entry))
    assert [e.what for e in events] == ["accepted", "processed"]
    assert events[1].details == (
        "state error, attempts 3: Invalid body field; No location no-such-place. (/x)"
    )


def test_a_queued_entry_is_only_accepted() -> None:
    entry = records().entry
    assert entry is not None
    entry.update(state="queued", processed_at=None)
    assert [e.what for e in assemble(OrderRecords(ORDER, entry=entry))] == ["accepted"]


def test_lines_are_aligned_in_utc_and_json_keeps_the_instant() -> None:
    local = datetime(2026, 5, 4, 12, 0, 0, 123456, tzinfo=UTC).astimezone(
        timezone(timedelta(hours=2))
    )
    events = [Event(local, "created", "order x"), Event(local, "work note", "hello")]
    assert render_lines(events) == [
        "2026-05-04 12:00:00.123Z  created    order x",
        "2026-05-04 12:00:00.123Z  work note  hello",
    ]
    assert events[0].to_json() == {
        "at": "2026-05-04T14:00:00.123456+02:00",
        "what": "created",
        "details": "order x",
    }
    assert render_lines([]) == []
