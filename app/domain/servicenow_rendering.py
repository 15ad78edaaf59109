"""Orders as the Service Order Open API shows them (the contract's GET examples).

Pure functions over the rows the store read, so the HTTP layer and the workers render alike.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from app.domain.dates import format_date, parse_date
from app.domain.stored_order import StoredOrder

SN_ORDER_PATH = "/api/sn_tmf_api/order/serviceOrder"


def href(order_id: str) -> str:
    return f"{SN_ORDER_PATH}/{order_id}"


def _flag(value: bool, as_string: bool) -> str | bool:
    return ("true" if value else "false") if as_string else value


def changed_characteristics(chars: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only characteristics whose value differs from previousValue are returned."""
    return [c for c in chars if (c.get("value") or "") != (c.get("previousValue") or "")]


def _dates(row: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    return {out: format_date(row[col]) for out, col in names.items() if row.get(col) is not None}


_ORDER_DATES = {
    "completionDate": "completion_date",
    "committedDueDate": "committed_due_date",
    "expectedCompletionDate": "expected_completion_date",
    "requestedCompletionDate": "requested_completion_date",
    "requestedStartDate": "requested_start_date",
}


def _item_relationships(
    item: dict[str, Any], children: dict[str, list[str]]
) -> list[dict[str, str]]:
    rels = []
    if item.get("parent_external_id"):
        rels.append({"id": item["parent_external_id"], "relationshipType": "HasParent"})
    rels += [
        {"id": child, "relationshipType": "HasChild"} for child in children.get(item["sys_id"], [])
    ]
    rels += [
        {"id": r["related_external_id"], "relationshipType": r["relationship_type"]}
        for r in item.get("related_items", [])
    ]
    return rels


def _item(
    item: dict[str, Any], children: dict[str, list[str]], *, ponr_strings: bool
) -> dict[str, Any]:
    service: dict[str, Any] = {"@type": "Service"}
    if item.get("inventory_sys_id"):
        service["id"] = item["inventory_sys_id"]
    service["state"] = item.get("service_state") or ""
    service["serviceType"] = item.get("spec_service_type") or ""
    service["serviceCharacteristic"] = changed_characteristics(
        {
            "name": c["name"],
            "valueType": c["value_type"] or "",
            "value": c["value"],
            "previousValue": c["previous_value"],
        }
        for c in item.get("characteristics", [])
    )
    if item.get("service_relationships"):
        service["serviceRelationship"] = [
            {"id": r["inventory_ref"], "relationshipType": r["relationship_type"]}
            for r in item["service_relationships"]
        ]
    if item.get("specification"):
        service["serviceSpecification"] = {
            "id": item["spec_initial_version"],
            "name": item["spec_name"],
            "version": item["spec_version"],
            "internalVersion": str(item["spec_internal_version"]),
            "internalId": item["spec_initial_version"],
            "@type": "ServiceSpecificationRef",
        }
    rendered: dict[str, Any] = {
        "id": item["external_id"],
        "ponr": _flag(item["ponr"], ponr_strings),
        "action": item["action"],
    }
    if item.get("action_reason") is not None:
        rendered["actionReason"] = item["action_reason"]
    if item.get("quantity") is not None:
        rendered["quantity"] = item["quantity"]
    rendered.update(_dates(item, {"committedDueDate": "committed_due_date"}))
    rendered["service"] = service
    if item.get("location"):
        rendered["place"] = {"id": item["location"], "@type": "Place"}
    if item.get("service_offering"):
        rendered["serviceOffering"] = {"id": item["service_offering"]}
    relationships = _item_relationships(item, children)
    if relationships:
        rendered["orderRelationship"] = relationships
    if item.get("external_inventory"):
        rendered["externalProductInventory"] = [
            {"externalProductInventoryId": e["external_id"]} for e in item["external_inventory"]
        ]
    if item.get("contacts"):
        rendered["relatedParty"] = [
            {
                "id": c["sys_id"],
                "firstName": c["first_name"],
                "lastName": c["last_name"],
                "email": c["email"],
                "phone": c["phone"],
                "@type": "RelatedParty",
                "@referredType": c["referred_type"],
            }
            for c in item["contacts"]
        ]
    rendered["state"] = item["state"]
    rendered["version"] = str(item["version"])
    rendered["@type"] = "ServiceOrderItem"
    return rendered


def render_order(stored: StoredOrder, *, ponr_strings: bool = True) -> dict[str, Any]:
    """The whole order as GET shows it; notes newest first."""
    order = stored.order
    children: dict[str, list[str]] = {}
    for item in stored.items:
        if item.get("parent_line_item"):
            children.setdefault(item["parent_line_item"], []).append(item["external_id"])
    rendered: dict[str, Any] = {"id": order["sys_id"]}
    if order.get("external_id"):
        rendered["externalId"] = order["external_id"]
    ponr = order["ponr"] or any(item["ponr"] for item in stored.items)
    rendered["ponr"] = _flag(ponr, ponr_strings)
    for name in ("priority", "description", "category"):
        if order.get(name) is not None:
            rendered[name] = order[name]
    if order.get("order_currency"):
        rendered["orderCurrency"] = order["order_currency"]
    rendered.update(_dates(order, _ORDER_DATES))
    if stored.notes:
        rendered["note"] = [
            {
                **({"id": n["note_id"]} if n.get("note_id") else {}),
                "author": n["author"],
                "date": format_date(n["date"]),
                "text": n["text"],
            }
            for n in stored.notes
        ]
    rendered["serviceOrderItem"] = [
        _item(item, children, ponr_strings=ponr_strings) for item in stored.items
    ]
    rendered["relatedParty"] = [
        {
            "id": p["party_id"],
            "name": p["name"],
            "@type": "RelatedParty",
            "@referredType": p["referred_type"],
        }
        for p in stored.parties
    ]
    rendered["state"] = order["state"]
    rendered["version"] = str(order["version"])
    rendered["@type"] = "ServiceOrder"
    rendered["href"] = href(order["sys_id"])
    rendered["orderDate"] = format_date(order["order_date"])
    return rendered


def _echoed_date(value: Any) -> Any:
    """A date echoed as every date goes out (`2018-01-15 09:37:40` as
    `2018-01-15T09:37:40.000Z`); anything else, `""` included, as sent."""
    if not isinstance(value, str) or value == "":
        return value
    try:
        return format_date(parse_date(value))
    except ValueError:
        return value


def _echo_dates(body: dict[str, Any], names: Iterable[str]) -> None:
    for name in names:
        if name in body:
            body[name] = _echoed_date(body[name])


def echo_order(payload: dict[str, Any], stored: StoredOrder, *, state: str) -> dict[str, Any]:
    """POST and PATCH answer with the request echoed, plus what OrderHub decided
    (docs/contract.md#shapes); dates written as every date goes out."""
    echoed = copy.deepcopy(payload)
    _echo_dates(echoed, _ORDER_DATES)
    for note in echoed.get("note") or []:
        if isinstance(note, dict):
            _echo_dates(note, ("date",))
    items_by_id = {item["external_id"]: item for item in stored.items}
    for item in echoed.get("serviceOrderItem") or []:
        _echo_dates(item, ("committedDueDate",))
        stored_item = items_by_id.get(str(item.get("id", "")).strip())
        if stored_item is None:
            continue
        service = item.get("service")
        if isinstance(service, dict):
            chars = service.get("serviceCharacteristic")
            if isinstance(chars, list):
                service["serviceCharacteristic"] = changed_characteristics(chars)
            spec = service.get("serviceSpecification")
            if isinstance(spec, dict) and stored_item.get("specification"):
                spec["internalVersion"] = str(stored_item["spec_internal_version"])
                spec["version"] = stored_item["spec_version"]
                spec["internalId"] = stored_item["spec_initial_version"]
        item["state"] = stored_item["state"]
    echoed["id"] = stored.order["sys_id"]
    echoed["href"] = href(stored.order["sys_id"])
    echoed["orderDate"] = format_date(stored.order["order_date"])
    echoed["state"] = state
    return echoed


def cancellation_body(payload: dict[str, Any], order_id: str) -> dict[str, Any]:
    """The contract's cancel answer: the request echoed with the order id and `done`."""
    body: dict[str, Any] = {"id": order_id}
    for key in ("cancellationReason", "requestedCancellationDate", "@type"):
        if key in payload:
            body[key] = payload[key]
    _echo_dates(body, ("requestedCancellationDate",))
    body["serviceOrder"] = {"id": order_id, "@referredType": "ServiceOrder"}
    body["state"] = "done"
    return body
