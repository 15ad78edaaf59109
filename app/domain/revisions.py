"""In-flight revisions (PATCH) and cancellation: the rules that say whether they may happen."""

from __future__ import annotations

from typing import Any

from app.domain import messages as m
from app.domain.dates import parse_date
from app.domain.errors import ApiError, ErrorKind
from app.domain.new_order import NewOrder
from app.domain.states import check_before_ponr, transition

HOLD_ACTIONS = frozenset({"suspend", "resume"})


def check_revision(
    order: dict[str, Any], items: list[dict[str, Any]], payload: dict[str, Any]
) -> None:
    """What PATCH refuses before looking at the body's details; `order` is the stored row."""
    if order["fulfillment_type"] != "deliver":
        raise ApiError(ErrorKind.CONFLICT, m.PATCH_FULFILLMENT_TYPE_NOT_DELIVER, "/")
    check_before_ponr(order["ponr"] or any(i["ponr"] for i in items))
    transition(order["state"], "revise")
    currency = payload.get("orderCurrency")
    if currency is not None and currency != order["order_currency"]:
        raise ApiError(
            ErrorKind.CONFLICT, m.PATCH_ORDER_CURRENCY_REVISION_NOT_SUPPORTED, "/orderCurrency"
        )


def check_revised_items(
    stored_items: list[dict[str, Any]], revised: NewOrder, order: dict[str, Any]
) -> None:
    """Rules that compare each revised item with the one it revises, matched by id."""
    by_id = {item["external_id"]: item for item in stored_items}
    holds = any(i.action in HOLD_ACTIONS for i in revised.items) or any(
        i["action"] in HOLD_ACTIONS for i in stored_items
    )
    if (
        holds
        and revised.committed_due_date is not None
        and (revised.committed_due_date != order["committed_due_date"])
    ):
        raise ApiError(
            ErrorKind.CONFLICT,
            "Invalid payload: committedDueDate can't be updated "
            "on an order with suspend or resume items.",
            "/committedDueDate",
        )
    for index, item in enumerate(revised.items):
        stored = by_id.get(item.external_id)
        if stored is None:
            continue
        path = f"/serviceOrderItem/{index}"
        if stored.get("ponr"):
            raise ApiError(ErrorKind.CONFLICT, m.ORDERHUB_POINT_OF_NO_RETURN, f"{path}/ponr")
        if stored.get("service_offering") and item.offering is None:
            raise ApiError(
                ErrorKind.MISSING_FIELD,
                m.PATCH_ITEM_SERVICE_OFFERING_MISSING,
                f"{path}/serviceOffering",
            )
        if (
            HOLD_ACTIONS & {item.action, stored["action"]}
            and item.committed_due_date != stored["committed_due_date"]
        ):
            raise ApiError(
                ErrorKind.CONFLICT,
                "Invalid payload: committedDueDate can't be updated on a suspend or resume item.",
                f"{path}/committedDueDate",
            )


def revision_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What a revision changed: top-level fields, and items added or revised, by item id."""
    ignore = {"serviceOrderItem", "state", "version", "href", "orderDate"}
    fields = sorted(
        k for k in set(before) | set(after) if k not in ignore and before.get(k) != after.get(k)
    )
    old_items = {i["id"]: i for i in before.get("serviceOrderItem", [])}
    added, revised = [], []
    for item in after.get("serviceOrderItem", []):
        old = old_items.get(item["id"])
        if old is None:
            added.append(item["id"])
        elif {k: v for k, v in old.items() if k not in ("state", "version")} != {
            k: v for k, v in item.items() if k not in ("state", "version")
        }:
            revised.append(item["id"])
    return {"fields": fields, "itemsAdded": added, "itemsRevised": revised}


def check_cancel(payload: dict[str, Any]) -> str:
    """The order id a cancel request names, or the contract's 400 texts."""
    if not payload:
        raise ApiError(ErrorKind.MISSING_BODY, m.CANCEL_EMPTY_PAYLOAD)
    ref = payload.get("serviceOrder")
    if not isinstance(ref, dict):
        raise ApiError(
            ErrorKind.MISSING_FIELD,
            m.CANCEL_MANDATORY_FIELD_MISSING.format(field="serviceOrder"),
            "/serviceOrder",
        )
    order_id = ref.get("id")
    if not isinstance(order_id, str) or not order_id.strip():
        raise ApiError(
            ErrorKind.MISSING_FIELD,
            m.CANCEL_MANDATORY_FIELD_MISSING.format(field="serviceOrder.id"),
            "/serviceOrder/id",
        )
    raw_date = payload.get("requestedCancellationDate")
    if raw_date not in (None, ""):
        try:
            parse_date(str(raw_date))
        except ValueError:
            raise ApiError(
                ErrorKind.INVALID_FIELD,
                "Invalid payload: requestedCancellationDate is not a valid date.",
                "/requestedCancellationDate",
            ) from None
    return order_id.strip()


def check_cancellable(order: dict[str, Any], items: list[dict[str, Any]]) -> None:
    check_before_ponr(order["ponr"] or any(i["ponr"] for i in items))
    transition(order["state"], "cancel")


# Order fields a revision may leave out, and keep as stored: payload key -> column.
_KEPT_FIELDS = {
    "externalId": "external_id",
    "requestedStartDate": "requested_start_date",
    "requestedCompletionDate": "requested_completion_date",
    "expectedCompletionDate": "expected_completion_date",
    "committedDueDate": "committed_due_date",
    "priority": "priority",
    "description": "description",
    "category": "category",
    "@type": "type_annotation",
}


def keep_unnamed_fields(revised: NewOrder, stored: dict[str, Any], payload: dict[str, Any]) -> None:
    """A PATCH changes what it names; order fields it leaves out keep their stored values."""
    for key, column in _KEPT_FIELDS.items():
        if key not in payload:
            setattr(revised, column, stored[column])
