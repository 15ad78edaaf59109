"""Orders and cancellations as the standard TMF641 v4.1.0 API shows them.

Built on the Service Order Open API rendering (app/domain/rendering.py), so both flavours show
the same data; only the shapes the v4.1.0 swagger defines differently are changed here:

- `href` is an absolute URI: `base_url` (ORDERHUB_PUBLIC_URL, or the scheme and host a request
  came by) and the standard path; `ponr` is a boolean (docs/contract.md#shapes).
- States have their v4.1.0 names (app/domain/tmf_states.py, docs/states.md).
- An item's `action` uses the v4.1.0 enumeration where it has one (`change` is `modify`,
  `no-change` is `noChange`); OrderHub's `suspend` and `resume` stay as they are.
- An item's relationships are `serviceOrderItemRelationship` entries naming an `orderItem`,
  by `itemId` and by `id` too, which v4.1.0's ServiceOrderItemRef requires.
- An item's place is `service.place`, a list of `RelatedPlaceRefOrValue`.
- A cancelled order carries `cancellationDate` and `cancellationReason`.

Other OrderHub fields (`version`, `committedDueDate`, `orderCurrency`, item contacts, ...) stay
as extensions, which TMF630 allows.
"""

from __future__ import annotations

from typing import Any

from app.domain.dates import format_date
from app.domain.servicenow_rendering import render_order
from app.domain.stored_order import StoredOrder
from app.domain.tmf_states import item_state, order_state

TMF_BASE = "/tmf-api/serviceOrdering/v4"
ORDER_PATH = f"{TMF_BASE}/serviceOrder"
CANCELLATION_PATH = f"{TMF_BASE}/cancelServiceOrder"

# OrderHub's item actions as v4.1.0 names them (OrderItemActionType), and back.
ACTIONS_OUT = {"change": "modify", "no-change": "noChange"}
ACTIONS_IN = {tmf: own for own, tmf in ACTIONS_OUT.items()}
PLACE_ROLE = "serviceSite"


def order_href(base_url: str, order_id: str) -> str:
    return f"{base_url}{ORDER_PATH}/{order_id}"


def cancellation_href(base_url: str, cancellation_id: str) -> str:
    return f"{base_url}{CANCELLATION_PATH}/{cancellation_id}"


def _item_relationship(rel: dict[str, Any], order_id: str, base_url: str) -> dict[str, Any]:
    return {
        "relationshipType": rel["relationshipType"],
        "orderItem": {
            "id": rel["id"],
            "itemId": rel["id"],
            "serviceOrderId": order_id,
            "serviceOrderHref": order_href(base_url, order_id),
            "@referredType": "ServiceOrderItem",
        },
    }


def _service(service: dict[str, Any], place: dict[str, Any] | None) -> dict[str, Any]:
    """Empty `state`/`serviceType` left out: "" is no value of ServiceStateType."""
    out = {k: v for k, v in service.items() if not (k in ("state", "serviceType") and v == "")}
    if place is not None:
        out["place"] = [
            {"id": place["id"], "role": PLACE_ROLE, "@referredType": place.get("@type", "Place")}
        ]
    return out


def tmf_item(item: dict[str, Any], order_id: str, base_url: str) -> dict[str, Any]:
    """One rendered Open API item in the v4.1.0 ServiceOrderItem shape."""
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key == "action":
            out[key] = ACTIONS_OUT.get(value, value)
        elif key == "state":
            out[key] = item_state(value)
        elif key == "service":
            out[key] = _service(value, item.get("place"))
        elif key == "place":
            continue
        elif key == "orderRelationship":
            out["serviceOrderItemRelationship"] = [
                _item_relationship(rel, order_id, base_url) for rel in value
            ]
        else:
            out[key] = value
    return out


def render_tmf_order(
    stored: StoredOrder, base_url: str, cancellation: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole order in the v4.1.0 ServiceOrder shape; `cancellation` is its
    order_cancellation row when it was cancelled. Needs no request: `base_url` is all the
    hrefs take from one."""
    rendered = render_order(stored, ponr_strings=False)
    order_id = stored.order["sys_id"]
    rendered["serviceOrderItem"] = [
        tmf_item(i, order_id, base_url) for i in rendered["serviceOrderItem"]
    ]
    rendered["state"] = order_state(stored.order["state"], (i["state"] for i in stored.items))
    rendered["href"] = order_href(base_url, order_id)
    if cancellation is not None:
        rendered["cancellationDate"] = format_date(cancellation["created_at"])
        if cancellation.get("cancellation_reason") is not None:
            rendered["cancellationReason"] = cancellation["cancellation_reason"]
    return rendered


def render_cancellation(row: dict[str, Any], base_url: str) -> dict[str, Any]:
    """An order_cancellation row as the v4.1.0 CancelServiceOrder resource."""
    body: dict[str, Any] = {"id": row["sys_id"], "href": cancellation_href(base_url, row["sys_id"])}
    if row.get("cancellation_reason") is not None:
        body["cancellationReason"] = row["cancellation_reason"]
    if row.get("requested_cancellation_date") is not None:
        body["requestedCancellationDate"] = format_date(row["requested_cancellation_date"])
    body["effectiveCancellationDate"] = format_date(row["created_at"])
    body["serviceOrder"] = {
        "id": row["order_id"],
        "href": order_href(base_url, row["order_id"]),
        "@referredType": "ServiceOrder",
    }
    body["state"] = row["state"]
    body["@type"] = "CancelServiceOrder"
    return body
