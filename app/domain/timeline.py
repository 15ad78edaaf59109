"""One order's life in time order, from what the tables keep of it: `orderhub order timeline`.

The tables keep states, not every change: an outbound request shows when it was created and
its state as last changed (by a send or by the latest callback, whose body it keeps); the
work notes written along the way fill in the sends and the errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from app.domain.trace_context import trace_id_of

# Rows stamped in one transaction share a time (now()); these keep cause before effect.
_RANK = {
    "accepted": 0,
    "processed": 1,
    "created": 2,
    "domain order": 3,
    "revised": 4,
    "cancellation": 5,
    "operator": 6,
    "outbound": 7,
    "work note": 8,
    "send failed": 9,
    "sent": 10,
    "callback": 11,
}


@dataclass
class OrderRecords:
    """What the store read of one order (and of the queue entry that brought it in)."""

    order_id: str
    entry: dict[str, Any] | None = None
    order: dict[str, Any] | None = None
    revisions: list[dict[str, Any]] = field(default_factory=list)
    domain_orders: list[dict[str, Any]] = field(default_factory=list)
    outbound: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    work_notes: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    cancellations: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    at: datetime
    what: str
    details: str

    def to_json(self) -> dict[str, str]:
        return {"at": self.at.isoformat(), "what": self.what, "details": self.details}


def _words(**fields: Any) -> str:
    """`key value` pairs, those without a value left out."""
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in fields.items() if v not in (None, ""))


def _entry_events(entry: dict[str, Any]) -> list[Event]:
    events = [
        Event(
            entry["received_at"],
            "accepted",
            _words(
                queue_entry=entry["id"],
                by=entry["created_by"],
                request_id=entry["request_id"],
                trace_id=trace_id_of(entry.get("traceparent")),
            ),
        )
    ]
    if entry["state"] == "queued":
        return events
    details = _words(state=entry["state"], attempts=entry["attempts"])
    error = entry.get("error")
    if error:
        details += f": {error.get('reason') or error.get('message') or 'error'}"
        for detail in error.get("details") or []:
            where = f" ({detail['datapath']})" if detail.get("datapath") else ""
            details += f"; {detail.get('message', '')}{where}"
    events.append(Event(entry["processed_at"], "processed", details))
    return events


def _order_events(order: dict[str, Any]) -> list[Event]:
    return [
        Event(
            order["created_at"],
            "created",
            _words(
                order=order["sys_id"],
                external_id=order["external_id"],
                by=order["created_by"],
                trace_id=trace_id_of(order.get("traceparent")),
            ),
        )
    ]


def _record_events(record: dict[str, Any]) -> list[Event]:
    """A record's creation, and its last state: from a callback when one came."""
    name = f"{record['number']} to {record['target']}"
    events = [
        Event(
            record["created_at"],
            "outbound",
            _words(
                record=name,
                request_id=record["request_id"],
                revising=record["previous_request_id"],
            ),
        )
    ]
    if record["response"] is not None or record["state"] != "not_applicable":
        events.append(
            Event(
                record["updated_at"],
                "callback" if record["response"] is not None else "sent",
                _words(record=name, state=record["state"], attempts=record["attempts"]),
            )
        )
    return events


def _failure_events(failure: dict[str, Any]) -> list[Event]:
    return [
        Event(
            failure["updated_at"],
            "send failed",
            _words(
                request_id=failure["request_id"],
                to=failure["target"],
                records=" ".join(failure["numbers"]),
                attempts=failure["attempts"],
                given_up="yes" if failure["given_up"] else "",
            )
            + f": {failure['last_error']}",
        )
    ]


def _cancellation_events(cancellation: dict[str, Any]) -> list[Event]:
    return [
        Event(
            cancellation["created_at"],
            "cancellation",
            _words(
                id=cancellation["sys_id"],
                state=cancellation["state"],
                by=cancellation["created_by"],
                reason=cancellation["cancellation_reason"],
            ),
        )
    ]


def _action_details(action: dict[str, Any]) -> str:
    detail = action["detail"] or {}
    numbers = " ".join(detail.get("numbers") or [])
    return _words(action=action["action"], by=action["actor"], records=numbers)


def assemble(records: OrderRecords) -> list[Event]:
    """Every event of the order, oldest first; events of one instant in causal order."""
    events: list[Event] = []
    if records.entry is not None:
        events += _entry_events(records.entry)
    if records.order is not None:
        events += _order_events(records.order)
    events += [
        Event(
            d["created_at"],
            "domain order",
            _words(id=d["sys_id"], line_item=d["item_id"], parent=d["parent"]),
        )
        for d in records.domain_orders
    ]
    events += [
        Event(r["created_at"], "revised", _words(version=r["version"], by=r["author"]))
        for r in records.revisions
    ]
    for record in records.outbound:
        events += _record_events(record)
    for failure in records.failures:
        events += _failure_events(failure)
    for cancellation in records.cancellations:
        events += _cancellation_events(cancellation)
    events += [Event(a["created_at"], "operator", _action_details(a)) for a in records.actions]
    events += [
        Event(
            n["created_at"],
            "work note",
            (f"[{n['item_id']}] " if n["item_id"] else "") + f"{n['text']} ({n['author']})",
        )
        for n in records.work_notes
    ]
    return sorted(events, key=lambda e: (e.at, _RANK[e.what]))


def render_lines(events: list[Event]) -> list[str]:
    """One line each: time (UTC, to the millisecond), what, details; columns aligned."""
    width = max((len(e.what) for e in events), default=0)
    return [
        f"{e.at.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}Z  "
        f"{e.what:<{width}}  {e.details}".rstrip()
        for e in events
    ]
