"""Outbound rules: the outbound policy, initiation, sending and callbacks.

All pure; the store fetches what they need and writes what they decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.domain import messages as m
from app.domain.catalog import Policy
from app.domain.dates import format_date
from app.domain.errors import ApiError, ErrorKind

CALLBACK_STATES = ("pending", "fulfilled", "error")
ACTIVE_RECORD_STATES = frozenset({"not_applicable", "pending"})
DEFAULT_TARGET = "SOM"


# --- the Service Order Outbound Policy decision table ----------------------------------------


def choose_policy(policies: Iterable[Policy], specification: str | None, action: str) -> Policy:
    """A row for the specification and action, else for the specification and any action,
    else the default (docs/contract.md#outbound): non-hierarchical, to SOM."""
    rows = [p for p in policies if p.specification == specification]
    for wanted in (action, ""):
        for row in rows:
            if row.action == wanted:
                return row
    return Policy(specification or "", "", hierarchical=False, target=DEFAULT_TARGET)


# --- initiation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DomainOrder:
    sys_id: str
    parent: str | None
    specification: str | None  # the specification's initial_version
    action: str
    fulfillment_state: str
    updates_available: bool
    has_active_record: bool  # a record not yet sent or sent and pending
    last_request_id: str | None
    has_unsent_record: bool = False  # a record not yet sent (state not_applicable)


@dataclass(frozen=True)
class Group:
    """One initiation: records sharing a new Request ID, sent together to one system."""

    request_id: str
    target: str
    domain_orders: tuple[str, ...]
    previous_request_id: str | None


def check_initiable(order_state: str) -> None:
    if order_state in ("completed", "cancelled"):
        raise ApiError(
            ErrorKind.CONFLICT,
            f"A service order in state {order_state} can't be sent for fulfilment.",
            "/state",
        )


def plan_initiation(
    domain_orders: list[DomainOrder], policies: list[Policy], new_id: Callable[[], str]
) -> list[Group]:
    """What "Create Outbound Fulfillment Request" (or, with updates available, "Revise
    Outbound Request") creates: per root of work, the hierarchy under one Request ID when the
    policy says hierarchical, else the single domain order.

    A domain order goes out when it was never sent (or its last request ended in error), or,
    as a revision of the request in flight, when it has updates available (outbound-requests
    P27: in-flight changes); never while a request of it waits to be sent."""
    wanted = [d for d in domain_orders if _wanted(d)]
    if not wanted:
        raise ApiError(
            ErrorKind.CONFLICT,
            "Nothing to send: every domain order of this order "
            "has an outbound request in progress or is fulfilled.",
            "/",
        )
    wanted_ids = {d.sys_id for d in wanted}
    children: dict[str, list[str]] = {}
    for d in domain_orders:
        if d.parent:
            children.setdefault(d.parent, []).append(d.sys_id)
    by_id = {d.sys_id: d for d in domain_orders}

    def depth(d: DomainOrder) -> int:
        return 0 if d.parent is None or d.parent not in by_id else 1 + depth(by_id[d.parent])

    def descendants(sys_id: str) -> list[str]:
        found = []
        for child in children.get(sys_id, []):
            found += [child, *descendants(child)]
        return found

    covered: set[str] = set()
    groups = []
    for d in sorted(wanted, key=depth):
        if d.sys_id in covered:
            continue
        policy = choose_policy(policies, d.specification, d.action)
        members = [d.sys_id]
        if policy.hierarchical:
            members += [c for c in descendants(d.sys_id) if c in wanted_ids and c not in covered]
        covered.update(members)
        previous = d.last_request_id if d.updates_available else None
        groups.append(Group(new_id(), policy.target, tuple(members), previous))
    return groups


def _wanted(d: DomainOrder) -> bool:
    if d.has_unsent_record:
        return False
    if d.updates_available:
        return True
    return not d.has_active_record and d.fulfillment_state in ("not_started", "error")


# --- sending ---------------------------------------------------------------------------------


def classify_send(status: int | None) -> str:
    """accepted, retry (connection failure, timeout, 408, 429, 5xx) or refused (other 4xx)."""
    if status is None or status >= 500 or status in (408, 429):
        return "retry"
    if 200 <= status < 300:
        return "accepted"
    return "refused"


def outbound_payload(
    request_id: str,
    rendered_order: dict[str, Any],
    domain_orders: dict[str, str],
    previous_request_id: str | None,
) -> dict[str, Any]:
    """The TMF641 order sent to SOM/TOM: the order's items under their domain order ids.

    `domain_orders` maps each line item id (as the order shows it) to be sent to its domain
    order sys_id; relationships point at domain order ids too.
    """
    items = []
    for item in rendered_order["serviceOrderItem"]:
        if item["id"] not in domain_orders:
            continue
        sent = {k: v for k, v in item.items() if k not in ("ponr", "state", "version")}
        sent["id"] = domain_orders[item["id"]]
        sent["orderRelationship"] = [
            {**rel, "id": domain_orders[rel["id"]]}
            for rel in item.get("orderRelationship", [])
            if rel["id"] in domain_orders
        ]
        items.append(sent)
    payload: dict[str, Any] = {
        "externalId": request_id,
        "@type": "ServiceOrder",
        "externalReference": [
            {"id": rendered_order["id"], "externalReferenceType": "ServiceOrder"}
        ],
        "relatedParty": rendered_order.get("relatedParty", []),
        "serviceOrderItem": items,
    }
    if previous_request_id:
        payload["previousExternalId"] = previous_request_id
    return payload


# --- the outboundresponse callback -----------------------------------------------------------


def callback_items_key(payload: dict[str, Any]) -> str:
    """The body key of the domain orders: `serviceOrderItem` (the example) or
    `ServiceOrderItem` (the contract's table); both are read (docs/contract.md#outbound)."""
    return "serviceOrderItem" if "serviceOrderItem" in payload else "ServiceOrderItem"


def check_callback(payload: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """(request id, [(domain order id, state)]), or the contract's texts for what is missing or
    malformed, before anything is looked up."""
    request_id = payload.get("externalId")
    if not isinstance(request_id, str) or not request_id.strip():
        raise ApiError(ErrorKind.MISSING_FIELD, m.OUTBOUND_EXTERNAL_ID_MISSING, "/externalId")
    key = callback_items_key(payload)
    items = payload.get(key)
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise ApiError(ErrorKind.MISSING_FIELD, m.PATCH_ITEM_MISSING, f"/{key}")
    for index, item in enumerate(items):
        if not isinstance(item.get("state"), str) or not item["state"].strip():
            raise ApiError(
                ErrorKind.MISSING_FIELD, m.OUTBOUND_ITEM_STATE_MISSING, f"/{key}/{index}/state"
            )
    for index, item in enumerate(items):
        if item["state"].strip() not in CALLBACK_STATES:
            raise ApiError(
                ErrorKind.INVALID_FIELD,
                m.OUTBOUND_FULFILMENT_STATE_INVALID,
                f"/{key}/{index}/state",
            )
        if not isinstance(item.get("id"), str) or not item["id"].strip():
            raise ApiError(
                ErrorKind.INVALID_FIELD, m.OUTBOUND_DOMAIN_ORDER_ID_INVALID, f"/{key}/{index}/id"
            )
    return request_id.strip(), [(i["id"].strip(), i["state"].strip()) for i in items]


def check_callback_records(
    items: list[tuple[str, str]],
    request_known: bool,
    existing_domain_orders: set[str],
    associated: set[str],
    key: str = "serviceOrderItem",
) -> None:
    """The checks that need the database's answers, in the contract's order; `key` is the body's
    key of the domain orders, for the error's datapath."""
    if not request_known:
        raise ApiError(ErrorKind.INVALID_FIELD, m.OUTBOUND_EXTERNAL_ID_INVALID, "/externalId")
    for index, (domain_order, _) in enumerate(items):
        if domain_order not in existing_domain_orders:
            raise ApiError(
                ErrorKind.INVALID_FIELD,
                m.OUTBOUND_DOMAIN_ORDER_ID_INVALID,
                f"/{key}/{index}/id",
            )
        if domain_order not in associated:
            raise ApiError(
                ErrorKind.INVALID_FIELD,
                m.OUTBOUND_DOMAIN_ORDER_NOT_ASSOCIATED,
                f"/{key}/{index}/id",
            )


# --- completion ------------------------------------------------------------------------------


def item_state_for(fulfillment_state: str, current: str) -> str:
    """An item follows its domain order; a revised item stays `revision_received` until its
    revision goes out (docs/contract.md#states), whatever the earlier request still reports as
    pending."""
    if fulfillment_state == "pending" and current == "revision_received":
        return current
    return {"fulfilled": "completed", "error": "error", "pending": "in_progress"}.get(
        fulfillment_state, current
    )


def order_state_for(item_states: list[str], current: str) -> str:
    """completed when every item is, error when any is; otherwise in progress, except that a
    revision not yet sent stays `revision_received`."""
    if item_states and all(s == "completed" for s in item_states):
        return "completed"
    if any(s == "error" for s in item_states):
        return "error"
    return "revision_received" if current == "revision_received" else "in_progress"


def reached_ponr(fulfillment_state: str, ponr_state: str) -> bool:
    """An item's point of no return: its domain order reached the specification's ponr state."""
    if ponr_state == "pending":
        return fulfillment_state in ("pending", "fulfilled")
    return fulfillment_state == "fulfilled"


def render_record(row: dict[str, Any]) -> dict[str, Any]:
    """An Outbound Request record (outbound-requests.txt, Table 1) as the operator API shows it."""
    return {
        "number": row["number"],
        "state": row["state"],
        "requestId": row["request_id"],
        "sourceRecord": row["source_record"],
        "table": row["table_name"],
        "domainOrderId": row["domain_order"],
        "target": row["target"],
        "previousRequestId": row["previous_request_id"],
        "attempts": row["attempts"],
        "createdAt": format_date(row["created_at"]),
        "updatedAt": format_date(row["updated_at"]),
        "response": row["response"],
    }


def render_domain_order(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["sys_id"],
        "serviceOrderItemId": row["item_id"],
        "parentId": row["parent"],
        "fulfillmentState": row["fulfillment_state"],
        "updatesAvailable": row["updates_available"],
        "createdAt": format_date(row["created_at"]),
        "updatedAt": format_date(row["updated_at"]),
    }
