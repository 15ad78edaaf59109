"""Checking an order request before anything is read or written: its shape and the
contract's "missing" texts, and the reference ids it names for the store to fetch.

`build_order` (order_building) is the second phase, against the references fetched.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from app.domain.dates import parse_date
from app.domain.errors import ApiError, ErrorKind
from app.domain.limits import MAX_CHARACTERISTICS, MAX_INT4, MAX_ITEMS, check_count
from app.domain.order_texts import POST_TEXTS, Texts
from app.domain.references import ReferenceIds

ACTIONS = ("add", "change", "delete", "no-change", "resume", "suspend")
INVENTORY_ACTIONS = frozenset(ACTIONS) - {"add"}
RELATIONSHIP_TYPES = ("HasChild", "HasParent", "Requires")
PARTY_KINDS = {"Customer": "account", "CustomerContact": "contact", "Consumer": "consumer"}
ORDER_DATES = (
    "requestedStartDate",
    "requestedCompletionDate",
    "expectedCompletionDate",
    "committedDueDate",
    "orderDate",
)
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# ASCII digits only: str.isdigit admits "²", which int() refuses, and int() refuses more
# than 4,300 digits; ten are enough for any value within MAX_INT4.
_WHOLE_NUMBER = re.compile(r"\s*0*[0-9]{1,10}\s*")


def missing(detail: str, datapath: str = "/") -> ApiError:
    return ApiError(ErrorKind.MISSING_FIELD, detail, datapath)


def invalid(detail: str, datapath: str = "/") -> ApiError:
    return ApiError(ErrorKind.INVALID_FIELD, detail, datapath)


def plain_text(value: Any) -> str:
    """A present, non-blank string, or ''."""
    return value.strip() if isinstance(value, str) else ""


# The datapath of these checks comes in two parts, joined only for an error: every request
# passes through them, and building each path up front was a fifth of check_request's time.


def _objects(value: Any, datapath: str, suffix: str = "") -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, list):
        for v in value:
            if not isinstance(v, dict):
                break
        else:
            return value
    datapath += suffix
    raise ApiError(ErrorKind.INVALID_BODY, f"{datapath} must be an array of objects.", datapath)


def _object(value: Any, datapath: str, suffix: str = "") -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    datapath += suffix
    raise ApiError(ErrorKind.INVALID_BODY, f"{datapath} must be an object.", datapath)


def optional_date(
    payload: dict[str, Any], name: str, datapath: str, suffix: str = ""
) -> datetime | None:
    raw = payload.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            return parse_date(raw)
        except ValueError:
            pass
    raise invalid(f"Invalid payload: {name} is not a valid date.", datapath + suffix)


def check_request(
    payload: dict[str, Any], texts: Texts = POST_TEXTS, known_items: frozenset[str] = frozenset()
) -> ReferenceIds:
    """Raises the first "missing" or shape error, in the contract's order; returns the ids to
    fetch."""
    if not payload:
        raise ApiError(ErrorKind.MISSING_BODY, texts.body_missing)
    items = _objects(payload.get("serviceOrderItem"), "/serviceOrderItem")
    if not items:
        raise missing(texts.item_missing, "/serviceOrderItem")
    check_count(items, MAX_ITEMS, "/serviceOrderItem")
    ids = ReferenceIds()
    _check_parties(payload, ids, texts)
    for name in ORDER_DATES:
        optional_date(payload, name, "/", name)
    currency = payload.get("orderCurrency")
    if currency is not None and not (isinstance(currency, str) and _CURRENCY.match(currency)):
        raise invalid("Invalid payload: orderCurrency is not an ISO 4217 code.", "/orderCurrency")
    _objects(payload.get("note"), "/note")
    seen: set[str] = set()
    for index, item in enumerate(items):
        _check_item(item, index, ids, seen, texts)
    item_ids = {plain_text(i.get("id")) for i in items} | known_items
    for index, item in enumerate(items):
        for rel_index, rel in enumerate(
            _objects(
                item.get("orderRelationship"), f"/serviceOrderItem/{index}", "/orderRelationship"
            )
        ):
            path = f"/serviceOrderItem/{index}/orderRelationship/{rel_index}"
            if not plain_text(rel.get("id")):
                raise missing("Invalid payload: orderRelationship id is missing.", f"{path}/id")
            if rel.get("relationshipType") not in RELATIONSHIP_TYPES:
                raise invalid(
                    "Invalid payload: orderRelationship relationshipType must be one "
                    f"of {', '.join(RELATIONSHIP_TYPES)}.",
                    f"{path}/relationshipType",
                )
            if plain_text(rel.get("id")) not in item_ids:
                raise invalid(
                    f"Invalid payload: orderRelationship id {rel['id']} does not match "
                    "a serviceOrderItem id.",
                    f"{path}/id",
                )
    parent_links(items)
    return ids


def _check_parties(payload: dict[str, Any], ids: ReferenceIds, texts: Texts) -> None:
    if payload.get("relatedParty") is None:
        raise missing(texts.related_party_missing, "/relatedParty")
    parties = _objects(payload.get("relatedParty"), "/relatedParty")
    has_customer = False
    for index, party in enumerate(parties):
        referred = party.get("@referredType")
        kind = PARTY_KINDS.get(referred) if isinstance(referred, str) else None
        if kind is None:
            raise invalid(
                "Invalid payload: relatedParty @referredType must be one of "
                f"{', '.join(PARTY_KINDS)}.",
                f"/relatedParty/{index}/@referredType",
            )
        party_id = plain_text(party.get("id"))
        if not party_id:
            raise missing(
                "Invalid payload: relatedParty id is missing.", f"/relatedParty/{index}/id"
            )
        getattr(ids, f"{kind}s").add(party_id)
        has_customer = has_customer or kind in ("account", "consumer")
    if not has_customer:
        raise missing(texts.customer_or_consumer_missing, "/relatedParty")


def _check_item(
    item: dict[str, Any], index: int, ids: ReferenceIds, seen: set[str], texts: Texts
) -> None:
    path = f"/serviceOrderItem/{index}"
    item_id = plain_text(item.get("id"))
    if not item_id:
        raise missing(texts.item_id_missing, f"{path}/id")
    if item_id in seen:
        raise invalid(texts.creation_failed, f"{path}/id")
    seen.add(item_id)
    action = plain_text(item.get("action"))
    if not action:
        raise missing(texts.item_action_missing, f"{path}/action")
    if action not in ACTIONS:
        raise invalid(
            f"Invalid payload: serviceOrderItem action {action} is not one of "
            f"{', '.join(ACTIONS)}.",
            f"{path}/action",
        )
    service = _check_service(item, path, action, ids, texts)
    _check_offering(item, path, ids, texts)
    _check_place(item, path, ids)
    quantity = item.get("quantity")
    if quantity is not None and quantity != "" and not _positive_int(quantity):
        raise invalid(
            f"Invalid payload: quantity must be a whole number from 1 to {MAX_INT4}.",
            f"{path}/quantity",
        )
    optional_date(item, "committedDueDate", path, "/committedDueDate")
    _check_characteristics(service, path)
    _check_relationships(service, path, ids, texts)
    _check_contacts(item, path)
    _check_external_inventory(item, path)


def _check_service(
    item: dict[str, Any], path: str, action: str, ids: ReferenceIds, texts: Texts
) -> dict[str, Any]:
    """Only an "add" must name a specification; every other action names the inventory."""
    service = _object(item.get("service"), path, "/service")
    if service is None:
        raise missing(texts.item_service_missing, f"{path}/service")
    spec = _object(service.get("serviceSpecification"), path, "/service/serviceSpecification")
    if spec is None and action == "add":
        raise missing(texts.spec_missing, f"{path}/service/serviceSpecification")
    if spec is not None:
        spec_id = plain_text(spec.get("id"))
        if not spec_id:
            raise missing(texts.spec_id_missing, f"{path}/service/serviceSpecification/id")
        ids.specifications.add(spec_id)
    if action in INVENTORY_ACTIONS:
        inventory_id = plain_text(service.get("id"))
        if not inventory_id:
            raise missing(texts.inventory_id_missing, f"{path}/service/id")
        ids.inventories.add(inventory_id)
    return service


def _check_offering(item: dict[str, Any], path: str, ids: ReferenceIds, texts: Texts) -> None:
    """Unlike a place, an offering that is not an object gets the "missing id" text."""
    offering = item.get("serviceOffering")
    if offering is not None:
        offering_id = plain_text(offering.get("id")) if isinstance(offering, dict) else ""
        if not offering_id:
            raise missing(texts.offering_id_missing, f"{path}/serviceOffering/id")
        ids.offerings.add(offering_id)


def _check_place(item: dict[str, Any], path: str, ids: ReferenceIds) -> None:
    place = _object(item.get("place"), path, "/place")
    if place is not None:
        place_id = plain_text(place.get("id"))
        if not place_id:
            raise missing("Invalid payload: place id is missing.", f"{path}/place/id")
        ids.locations.add(place_id)


def _check_characteristics(service: dict[str, Any], path: str) -> None:
    characteristics = _objects(
        service.get("serviceCharacteristic"), path, "/service/serviceCharacteristic"
    )
    if len(characteristics) > MAX_CHARACTERISTICS:
        check_count(characteristics, MAX_CHARACTERISTICS, f"{path}/service/serviceCharacteristic")
    for c_index, char in enumerate(characteristics):
        if not plain_text(char.get("name")):
            raise missing(
                "Invalid payload: serviceCharacteristic name is missing.",
                f"{path}/service/serviceCharacteristic/{c_index}/name",
            )


def _check_relationships(
    service: dict[str, Any], path: str, ids: ReferenceIds, texts: Texts
) -> None:
    """A related service is an inventory record, so its id is fetched with the inventories."""
    for r_index, rel in enumerate(
        _objects(service.get("serviceRelationship"), path, "/service/serviceRelationship")
    ):
        rel_id = plain_text(rel.get("id"))
        if not rel_id:
            raise missing(
                texts.inventory_id_missing,
                f"{path}/service/serviceRelationship/{r_index}/id",
            )
        ids.inventories.add(rel_id)


def _check_contacts(item: dict[str, Any], path: str) -> None:
    for c_index, contact in enumerate(_objects(item.get("relatedParty"), path, "/relatedParty")):
        if not plain_text(contact.get("@referredType")):
            raise missing(
                "Invalid payload: serviceOrderItem relatedParty @referredType is missing.",
                f"{path}/relatedParty/{c_index}/@referredType",
            )


def _check_external_inventory(item: dict[str, Any], path: str) -> None:
    for e_index, ext in enumerate(
        _objects(item.get("externalProductInventory"), path, "/externalProductInventory")
    ):
        if not plain_text(ext.get("externalProductInventoryId")):
            raise missing(
                "Invalid payload: externalProductInventoryId is missing.",
                f"{path}/externalProductInventory/{e_index}",
            )


def _positive_int(value: Any) -> bool:
    """Within the integer column it is stored in."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 1 <= value <= MAX_INT4
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        return 1 <= int(value) <= MAX_INT4
    return False


def parent_links(items: list[dict[str, Any]]) -> dict[str, str]:
    """Item id -> parent item id, from HasParent/HasChild; one parent each and no cycles."""
    parents: dict[str, str] = {}

    def link(child: str, parent: str) -> None:
        if parents.get(child, parent) != parent or child == parent:
            raise invalid(
                f"Invalid payload: serviceOrderItem {child} has more than one parent.",
                "/serviceOrderItem",
            )
        parents[child] = parent

    for item in items:
        item_id = plain_text(item.get("id"))
        for rel in item.get("orderRelationship") or []:
            if rel.get("relationshipType") == "HasParent":
                link(item_id, plain_text(rel.get("id")))
            elif rel.get("relationshipType") == "HasChild":
                link(plain_text(rel.get("id")), item_id)
    for start in parents:
        seen = {start}
        node = start
        while node in parents:
            node = parents[node]
            if node in seen:
                raise invalid(
                    "Invalid payload: orderRelationship HasParent/HasChild form a cycle.",
                    "/serviceOrderItem",
                )
            seen.add(node)
    return parents
