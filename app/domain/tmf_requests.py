"""Standard-flavour requests (TMF641 v4.1.0 shapes) as the payloads the shared domain takes.

Only shapes are translated here; every rule stays with create_order, revise_order and
cancel_order, so both flavours accept and refuse alike.
"""

from __future__ import annotations

import copy
from typing import Any

from app.domain import messages as m
from app.domain.errors import ApiError, ErrorKind
from app.domain.servicenow_rendering import render_order
from app.domain.stored_order import StoredOrder
from app.domain.tmf_rendering import ACTIONS_IN
from app.domain.tmf_states import order_state

# ServiceOrder_Update (v4.1.0) lists these as skipped: a PATCH naming one is refused.
READ_ONLY = (
    "id",
    "href",
    "orderDate",
    "completionDate",
    "startDate",
    "cancellationDate",
    "cancellationReason",
    "category",
    "jeopardyAlert",
    "errorMessage",
    "milestone",
)
# What a PATCH may change: ServiceOrder_Update's stored attributes, and two OrderHub extensions.
PATCHABLE = (
    "externalId",
    "priority",
    "description",
    "requestedStartDate",
    "requestedCompletionDate",
    "expectedCompletionDate",
    "committedDueDate",
    "orderCurrency",
    "relatedParty",
    "note",
)


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _iso(value: Any) -> str | None:
    """Stored dates sent back unchanged to the microsecond."""
    return None if value is None else str(value.isoformat())


def _related_item_id(ref: Any) -> Any:
    """`itemId` of a ServiceOrderItemRef, else its `id`: v4.1.0 requires `id` there, though it
    declares only `itemId`, so a client generated from it may send either."""
    if not isinstance(ref, dict):
        return None
    return ref.get("itemId", ref.get("id"))


def item_request(item: dict[str, Any]) -> dict[str, Any]:
    """A v4.1.0 ServiceOrderItem as the Open API item (the Open API's own fields pass as sent)."""
    out = dict(item)
    out.pop("state", None)
    action = out.get("action")
    if isinstance(action, str) and action.strip() in ACTIONS_IN:
        out["action"] = ACTIONS_IN[action.strip()]
    relationships = out.pop("serviceOrderItemRelationship", None)
    if isinstance(relationships, list) and "orderRelationship" not in out:
        out["orderRelationship"] = [
            _drop_none(
                {
                    "id": _related_item_id(rel.get("orderItem")),
                    "relationshipType": rel.get("relationshipType"),
                }
            )
            if isinstance(rel, dict)
            else rel
            for rel in relationships
        ]
    service = out.get("service")
    if isinstance(service, dict):
        service = dict(service)
        places = service.pop("place", None)
        if isinstance(places, list) and places and isinstance(places[0], dict):
            if "place" not in out:
                place = places[0]
                out["place"] = _drop_none(
                    {"id": place.get("id"), "@type": place.get("@referredType") or "Place"}
                )
        elif places is not None:
            service["place"] = places
        rels = service.get("serviceRelationship")
        if isinstance(rels, list):
            service["serviceRelationship"] = [
                {**rel, "id": rel["service"]["id"]}
                if isinstance(rel, dict)
                and "id" not in rel
                and isinstance(rel.get("service"), dict)
                and "id" in rel["service"]
                else rel
                for rel in rels
            ]
        out["service"] = service
    return out


def order_request(body: dict[str, Any]) -> dict[str, Any]:
    """A v4.1.0 ServiceOrder_Create as the payload create_order takes."""
    payload = dict(body)
    items = payload.get("serviceOrderItem")
    if isinstance(items, list):
        payload["serviceOrderItem"] = [
            item_request(item) if isinstance(item, dict) else item for item in items
        ]
    return payload


# --- PATCH -------------------------------------------------------------------------------------


def _stored_item(item: dict[str, Any], relationships: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored item as the Open API item that would store it again unchanged."""
    service = _drop_none(
        {
            "id": item.get("inventory"),
            "@type": item.get("service_type_annotation"),
            "serviceState": item.get("service_state"),
            "serviceCharacteristic": [
                _drop_none(
                    {
                        "name": c["name"],
                        "value": c["value"],
                        "previousValue": c["previous_value"],
                        "valueType": c.get("value_type"),
                    }
                )
                for c in item.get("characteristics", [])
            ],
        }
    )
    if item.get("service_relationships"):
        service["serviceRelationship"] = [
            {"id": r["inventory_ref"], "relationshipType": r["relationship_type"]}
            for r in item["service_relationships"]
        ]
    if item.get("specification"):
        service["serviceSpecification"] = _drop_none(
            {
                "id": item["spec_initial_version"],
                "internalVersion": str(item["spec_internal_version"]),
                "@type": item.get("spec_type_annotation"),
            }
        )
    out = _drop_none(
        {
            "id": item["external_id"],
            "action": item["action"],
            "actionReason": item.get("action_reason"),
            "quantity": item.get("quantity"),
            "committedDueDate": _iso(item.get("committed_due_date")),
            "@type": item.get("type_annotation"),
            "service": service,
        }
    )
    if item.get("location"):
        out["place"] = _drop_none(
            {"id": item["location"], "@type": item.get("place_type_annotation")}
        )
    if item.get("service_offering"):
        out["serviceOffering"] = {"id": item["service_offering"]}
    if relationships:
        out["orderRelationship"] = relationships
    if item.get("contacts"):
        out["relatedParty"] = [
            {
                "id": c["sys_id"],
                "firstName": c["first_name"],
                "lastName": c["last_name"],
                "email": c["email"],
                "phone": c["phone"],
                "@referredType": c["referred_type"],
            }
            for c in item["contacts"]
        ]
    if item.get("external_inventory"):
        out["externalProductInventory"] = [
            {"externalProductInventoryId": e["external_id"]} for e in item["external_inventory"]
        ]
    return out


def _stored_order(stored: StoredOrder) -> dict[str, Any]:
    """The order's own fields as the Open API payload that would store them again."""
    order = stored.order
    payload = _drop_none(
        {
            "externalId": order.get("external_id"),
            "priority": order.get("priority"),
            "description": order.get("description"),
            "category": order.get("category"),
            "requestedStartDate": _iso(order.get("requested_start_date")),
            "requestedCompletionDate": _iso(order.get("requested_completion_date")),
            "expectedCompletionDate": _iso(order.get("expected_completion_date")),
            "committedDueDate": _iso(order.get("committed_due_date")),
            "orderCurrency": order.get("order_currency"),
            "fulfillmentType": order.get("fulfillment_type"),
            "@type": order.get("type_annotation"),
        }
    )
    payload["relatedParty"] = [
        _drop_none(
            {
                "id": p["party_id"],
                "name": p.get("name"),
                "@type": "RelatedParty",
                "@referredType": p["referred_type"],
            }
        )
        for p in stored.parties
    ]
    return payload


def _key(name: Any) -> str:
    return str(name).strip().casefold()


def _merge_characteristics(base: Any, patch: Any) -> Any:
    """Characteristics matched by name: those named are updated, the others kept."""
    if not isinstance(base, list) or not isinstance(patch, list):
        return patch
    merged = [dict(c) for c in base]
    index = {_key(c.get("name")): i for i, c in enumerate(merged)}
    for char in patch:
        if isinstance(char, dict) and _key(char.get("name")) in index:
            position = index[_key(char.get("name"))]
            merged[position] = {**merged[position], **char}
        else:
            merged.append(char)
    return merged


def _merge_item(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`patch` over the stored item: fields it names replace, fields it leaves out stay."""
    merged = {**base, **{k: v for k, v in patch.items() if k != "service"}}
    if "service" not in patch:
        return merged
    service_patch = patch["service"]
    service_base = base.get("service")
    if not isinstance(service_patch, dict) or not isinstance(service_base, dict):
        merged["service"] = service_patch
        return merged
    service = {
        **service_base,
        **{
            k: v
            for k, v in service_patch.items()
            if k not in ("serviceCharacteristic", "serviceSpecification")
        },
    }
    if "serviceCharacteristic" in service_patch:
        service["serviceCharacteristic"] = _merge_characteristics(
            service_base.get("serviceCharacteristic"), service_patch["serviceCharacteristic"]
        )
    if "serviceSpecification" in service_patch:
        spec = service_patch["serviceSpecification"]
        spec_base = service_base.get("serviceSpecification")
        if isinstance(spec, dict) and isinstance(spec_base, dict) and "id" not in spec:
            spec = {**spec_base, **spec}
        service["serviceSpecification"] = spec
    merged["service"] = service
    return merged


def revision_request(stored: StoredOrder, patch: dict[str, Any]) -> dict[str, Any]:
    """A v4.1.0 ServiceOrder_Update as the full payload revise_order takes.

    What the PATCH leaves out stays as stored: the order's fields, the fields of the items it
    names, the characteristics of those items (matched by name) and the items it doesn't name.
    Items are matched by `id`; an unknown id adds an item after the stored ones. Every stored
    item is sent back, in its stored order, since revise_order numbers items by their place in
    the payload and checks relationships against the items the payload holds.
    """
    if not patch:
        raise ApiError(ErrorKind.MISSING_BODY, m.PATCH_REQUEST_BODY_MISSING)
    for name in READ_ONLY:
        if name in patch:
            raise ApiError(
                ErrorKind.INVALID_FIELD, f"Invalid payload: {name} can't be updated.", f"/{name}"
            )
    state = patch.get("state")
    shown = order_state(stored.order["state"], (i["state"] for i in stored.items))
    if state is not None and state != shown:
        raise ApiError(
            ErrorKind.INVALID_FIELD,
            "Invalid payload: state can't be updated; cancel an order with cancelServiceOrder.",
            "/state",
        )
    payload = _stored_order(stored)
    for name in PATCHABLE:
        if name in patch:
            payload[name] = copy.deepcopy(patch[name])
    rendered_items = render_order(stored)["serviceOrderItem"]
    stored_items = {
        item["external_id"]: _stored_item(item, rendered.get("orderRelationship", []))
        for item, rendered in zip(stored.items, rendered_items, strict=True)
    }
    patch_items = patch.get("serviceOrderItem")
    if patch_items is None:
        payload["serviceOrderItem"] = list(stored_items.values())
        return payload
    if not isinstance(patch_items, list) or not all(isinstance(i, dict) for i in patch_items):
        raise ApiError(
            ErrorKind.INVALID_BODY,
            "/serviceOrderItem must be an array of objects.",
            "/serviceOrderItem",
        )
    revised: dict[str, dict[str, Any]] = {}
    added: list[dict[str, Any]] = []
    for raw in patch_items:
        item = item_request(copy.deepcopy(raw))
        item_id = item.get("id")
        key = item_id.strip() if isinstance(item_id, str) else None
        if key is not None and key in stored_items:
            revised[key] = _merge_item(stored_items[key], item)
        else:
            added.append(item)
    payload["serviceOrderItem"] = [
        revised.get(item_id, item) for item_id, item in stored_items.items()
    ] + added
    return payload
