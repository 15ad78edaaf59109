"""TMF641 v4.1.0 event notifications: their types and the envelope every one has.

An event is built once, when the change that raises it is written, and stored as it will be
posted (docs/api.md#event-notifications); the resource inside is the standard flavour's
rendering of the order or cancellation at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.domain.dates import format_date

ORDER_CREATE = "ServiceOrderCreateEvent"
ORDER_ATTRIBUTE_VALUE_CHANGE = "ServiceOrderAttributeValueChangeEvent"
ORDER_STATE_CHANGE = "ServiceOrderStateChangeEvent"
ORDER_DELETE = "ServiceOrderDeleteEvent"
ORDER_INFORMATION_REQUIRED = "ServiceOrderInformationRequiredEvent"
ORDER_MILESTONE = "ServiceOrderMilestoneEvent"
ORDER_JEOPARDY = "ServiceOrderJeopardyEvent"
CANCEL_CREATE = "CancelServiceOrderCreateEvent"
CANCEL_STATE_CHANGE = "CancelServiceOrderStateChangeEvent"

EVENT_TYPES = (
    ORDER_CREATE,
    ORDER_ATTRIBUTE_VALUE_CHANGE,
    ORDER_STATE_CHANGE,
    ORDER_DELETE,
    ORDER_INFORMATION_REQUIRED,
    ORDER_MILESTONE,
    ORDER_JEOPARDY,
    CANCEL_CREATE,
    CANCEL_STATE_CHANGE,
)
CANCEL_TYPES = frozenset({CANCEL_CREATE, CANCEL_STATE_CHANGE})
# Types whose swagger definition has `fieldPath`.
WITH_FIELD_PATH = frozenset({ORDER_ATTRIBUTE_VALUE_CHANGE, ORDER_INFORMATION_REQUIRED})
DOMAIN = "ServiceOrdering"
DEFAULT_PRIORITY = "normal"


@dataclass(frozen=True)
class Raised:
    """One event a change raises, before the resource is rendered into it."""

    event_type: str
    title: str
    description: str
    field_path: str | None = None
    milestone: dict[str, Any] | None = None
    jeopardy: dict[str, Any] | None = None


def build_event(
    raised: Raised,
    resource: dict[str, Any],
    *,
    event_id: str,
    at: datetime,
    correlation_id: str,
) -> dict[str, Any]:
    """The notification as posted: the swagger's envelope, and `event` holding the order (or,
    for cancel events, the cancellation) as the standard flavour renders it."""
    key = "cancelServiceOrder" if raised.event_type in CANCEL_TYPES else "serviceOrder"
    resource = dict(resource)
    if raised.milestone is not None:
        resource["milestone"] = [*resource.get("milestone", []), raised.milestone]
    if raised.jeopardy is not None:
        resource["jeopardyAlert"] = [*resource.get("jeopardyAlert", []), raised.jeopardy]
    when = format_date(at)
    body: dict[str, Any] = {
        "eventId": event_id,
        "eventTime": when,
        "eventType": raised.event_type,
        "correlationId": correlation_id,
        "domain": DOMAIN,
        "title": raised.title,
        "description": raised.description,
        "priority": str(resource.get("priority") or DEFAULT_PRIORITY),
        "timeOcurred": when,
    }
    if raised.event_type in WITH_FIELD_PATH and raised.field_path is not None:
        body["fieldPath"] = raised.field_path
    body["event"] = {key: resource}
    return body


def milestone(name: str, message: str, at: datetime, item_ids: list[str]) -> dict[str, Any]:
    """A ServiceOrderMilestone entry for the order a milestone event carries."""
    return {
        "id": name,
        "name": name,
        "message": message,
        "milestoneDate": format_date(at),
        "status": "reached",
        "serviceOrderItem": [{"id": i, "itemId": i} for i in item_ids],
        "@type": "ServiceOrderMilestone",
    }


def jeopardy(name: str, message: str, at: datetime) -> dict[str, Any]:
    """A ServiceOrderJeopardyAlert entry for the order a jeopardy event carries."""
    return {
        "id": name,
        "name": name,
        "jeopardyType": "fulfilment",
        "message": message,
        "alertDate": format_date(at),
        "@type": "ServiceOrderJeopardyAlert",
    }


def state_change(before: str, after: str) -> Raised:
    return Raised(
        ORDER_STATE_CHANGE,
        "Service order state changed",
        f"The service order went from {before} to {after}.",
    )


def progress_events(
    *,
    state_before: str,
    state_after: str,
    ponr_before: bool,
    ponr_after: bool,
    items_completed: list[str],
    items_changed: bool,
    at: datetime,
) -> list[Raised]:
    """What fulfilment progress raises: a state change of the order; milestones for the point
    of no return and for each line item whose domain order was fulfilled while the order is
    not yet complete; otherwise item states that moved are an attribute change."""
    raised: list[Raised] = []
    if ponr_after and not ponr_before:
        raised.append(
            Raised(
                ORDER_MILESTONE,
                "Point of no return reached",
                "The service order can no longer be revised or cancelled.",
                milestone=milestone(
                    "pointOfNoReturn", "Point of no return reached.", at, items_completed
                ),
            )
        )
    if items_completed and state_after != "completed":
        raised.append(
            Raised(
                ORDER_MILESTONE,
                "Line item fulfilled",
                f"Line item(s) {', '.join(items_completed)} fulfilled.",
                milestone=milestone(
                    "itemFulfilled", "Domain order fulfilled.", at, items_completed
                ),
            )
        )
    if state_after != state_before:
        raised.append(state_change(state_before, state_after))
    elif items_changed:
        raised.append(
            Raised(
                ORDER_ATTRIBUTE_VALUE_CHANGE,
                "Service order item state changed",
                "The state of some line items changed.",
                field_path="serviceOrderItem.state",
            )
        )
    return raised


def revision_events(changes: dict[str, Any], state_before: str, state_after: str) -> list[Raised]:
    """A PATCH accepted: the attribute change (fieldPath naming what changed), and the state
    change to revision_received when the state moved."""
    paths = list(changes.get("fields", []))
    if changes.get("itemsAdded") or changes.get("itemsRevised"):
        paths.append("serviceOrderItem")
    raised = [
        Raised(
            ORDER_ATTRIBUTE_VALUE_CHANGE,
            "Service order revised",
            "The service order was revised.",
            field_path=",".join(paths) or "serviceOrderItem",
        )
    ]
    if state_after != state_before:
        raised.append(state_change(state_before, state_after))
    return raised
