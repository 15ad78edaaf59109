"""Request bodies and the demo catalogue's ids: the seed's examples, and orders built from
its parts."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

from tests.helpers.paths import SEED_EXAMPLES

ORDERS = "/api/sn_tmf_api/order/serviceOrder"
ALIAS = "/api/sn_tmf_api/serviceorder"
CANCEL = f"{ORDERS}/cancelserviceorder"
CANCEL_ALIAS = "/api/sn_tmf_api/cancelserviceorder"
OUTBOUND_RESPONSE = f"{ORDERS}/outboundresponse"
# The standard TMF641 v4.1.0 flavour.
TMF = "/tmf-api/serviceOrdering/v4"
TMF_ORDERS = f"{TMF}/serviceOrder"
TMF_CANCELS = f"{TMF}/cancelServiceOrder"

# Reference records of app/demo/catalog.json.
ACCOUNT = "ffc68911c35420105252716b7d40dd55"
CONTACT = "eaf68911c35420105252716b7d40ddde"
CONSUMER = "59f16de1c3b67110ff00ed23a140dd9e"
HQ = "920cf6ac73d423002728660c4cf6a799"
BRANCH = "5671dd2ec3a53010188473ce3640dd81"
FIREWALL_SPEC = "f99546ff07266010a7955b7e0ad300a8"
FIREWALL_SPEC_V2 = "136c95f3521b79e28e5299a04df805ac"
SDWAN_SPEC = "7374aef12c021c1e6bf47ddceec865c1"
EDGE_SPEC = "e845bb12b2a0176a0ec3820377163165"
LINK_SPEC = "10cdc73583d10cd76d9b92c2e0671987"
ROUTER_SPEC = "af7445691eab4a805bcb04889e70deea"
RETIRED_SPEC = "c440587586a7984911cd804f211ed52b"
OFFERING = "73bd08e4d36cbf5255d2649408591d9f"
INV_ACTIVE = "4b5072aec3a83010abc8b5183c40dd42"  # Managed Firewall v1, active, at HQ
INV_ROUTER = "326d13f45b5620102dff5e92dc81c785"  # Managed Router, active
INV_SUSPENDED = "f3dd83bc94fd300ee47e34216329ffc2"  # SD-WAN, suspended
INV_INACTIVE = "1d7382cfc3aa221ee6a3929d130de861"  # Managed Firewall v1, inactive
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"

# Example orders of the demo catalogue.
ORDER_NEW = "4f2af65ac3a030106e2473ce3640ddcf"
ORDER_IN_PROGRESS = "a831e56e77602110c8b3a4d54b5a9954"
ORDER_TO_CANCEL = "5f4f5e5377a311101fa5a4d54b5a99fd"
ORDER_COMPLETED = "bd30366ec3a83010abc8b5183c40dd92"


def example(name: str) -> dict[str, Any]:
    """One of the seed's examples (tests/seed_examples/<name>.json): path, query, body, the
    expected status and the response example."""
    loaded: dict[str, Any] = json.loads((SEED_EXAMPLES / f"{name}.json").read_text())
    return loaded


def _example_body(name: str) -> dict[str, Any]:
    body: dict[str, Any] = example(name)["body"]
    return body


def async_example() -> dict[str, Any]:
    """The seed's `mode=async` example (05_post_async.json), as it is."""
    return _example_body("05_post_async")


def unique_external_id() -> str:
    """A fresh externalId, so that no two orders a test posts look like client retries."""
    return f"T-{uuid.uuid4().hex[:12]}"


def add_order() -> dict[str, Any]:
    """The seed's add example (06_post_add.json): a valid order of one add item."""
    body = copy.deepcopy(_example_body("06_post_add"))
    body["externalId"] = unique_external_id()
    return body


def change_order(
    external_id: str, inventory: str, characteristic: str, value: str, place: str
) -> dict[str, Any]:
    """The seed's change example (07_post_change.json) on `inventory`, setting one
    characteristic."""
    body = copy.deepcopy(_example_body("07_post_change"))
    body["externalId"] = external_id
    first = body["serviceOrderItem"][0]
    first["service"]["id"] = inventory
    first["service"]["serviceCharacteristic"] = [
        {"name": characteristic, "valueType": "Choice", "value": value}
    ]
    first["place"]["id"] = place
    return body


def patch_body() -> dict[str, Any]:
    """The seed's PATCH example (03_patch.json), valid against ORDER_IN_PROGRESS."""
    return copy.deepcopy(_example_body("03_patch"))


def parties() -> list[dict[str, Any]]:
    return copy.deepcopy(add_order()["relatedParty"])


def item(
    action: str,
    item_id: str = "100",
    *,
    inventory: str | None = None,
    spec: str | None = None,
    characteristics: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    service: dict[str, Any] = {"@type": "CFS"}
    if inventory is not None:
        service["id"] = inventory
    if spec is not None:
        service["serviceSpecification"] = {"id": spec, "@type": "ServiceSpecificationRef"}
    if characteristics is not None:
        service["serviceCharacteristic"] = characteristics
    return {
        "id": item_id,
        "action": action,
        "@type": "ServiceOrderItem",
        "service": service,
        **extra,
    }


def order_of(*items: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An order with the seed's related parties and the given items."""
    return {
        "externalId": unique_external_id(),
        "@type": "ServiceOrder",
        "serviceOrderItem": list(items),
        "relatedParty": parties(),
        **fields,
    }


def sdwan_hierarchy(first: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """An SD-WAN order of three items, item 1 the parent of 2 and 3 (`HasChild`); `first`
    adds fields to item 1, `fields` to the order."""
    return order_of(
        item(
            "add",
            "1",
            spec=SDWAN_SPEC,
            orderRelationship=[
                {"id": "2", "relationshipType": "HasChild"},
                {"id": "3", "relationshipType": "HasChild"},
            ],
            **(first or {}),
        ),
        item("add", "2", spec=EDGE_SPEC),
        item("add", "3", spec=LINK_SPEC),
        **fields,
    )


def sn_add_order(**fields: Any) -> dict[str, Any]:
    """The seed's add example, with an externalId of its own and `fields` set."""
    body = add_order()
    body.update(fields)
    return body


def tmf_add_order(**fields: Any) -> dict[str, Any]:
    """The same order in v4.1.0 shapes: the item's place is `service.place`."""
    body = sn_add_order(**fields)
    first = body["serviceOrderItem"][0]
    place = first.pop("place")
    site = {"id": place["id"], "role": "serviceSite", "@referredType": "Place"}
    first["service"]["place"] = [site]
    return body


def outbound_order(external_id: str, *specs: tuple[str, str]) -> dict[str, Any]:
    """A service order as OrderHub sends it to SOM/TOM: one item per (spec id, spec name)."""
    specs = specs or (("spec-1", "Fiber Access"),)
    return {
        "externalId": external_id,
        "serviceOrderItem": [
            {
                "id": f"domain-{external_id}-{n}",
                "action": "add",
                "service": {"serviceSpecification": {"id": spec_id, "name": name}},
            }
            for n, (spec_id, name) in enumerate(specs, 1)
        ],
    }
