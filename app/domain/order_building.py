"""Building what gets stored from a checked request and the references it names, with no I/O:
the contract's "does not exist" texts, the specification version, links between items.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.domain import messages as m
from app.domain.errors import ApiError, ErrorKind
from app.domain.ids import new_sys_id
from app.domain.new_order import NewCharacteristic, NewContact, NewItem, NewOrder
from app.domain.order_checks import (
    INVENTORY_ACTIONS,
    PARTY_KINDS,
    invalid,
    optional_date,
    parent_links,
    plain_text,
)
from app.domain.order_texts import POST_TEXTS, Texts
from app.domain.references import Inventory, References, Specification


def resolve_specification(
    candidates: list[Specification], requested: dict[str, Any], *, action: str
) -> Specification | None:
    """The version an order names, or the latest published one when it names none."""
    internal = plain_text(str(requested.get("internalVersion") or ""))
    external = plain_text(requested.get("version"))
    if internal:
        found = [s for s in candidates if str(s.internal_version) == internal]
    elif external:
        found = [s for s in candidates if s.version == external]
    else:
        found = [s for s in candidates if s.status == "published"]
    if action == "add":
        found = [s for s in found if s.status != "retired"]
    return max(found, key=lambda s: s.internal_version) if found else None


def build_order(
    payload: dict[str, Any],
    refs: References,
    *,
    order_id: str,
    user: str,
    now: datetime,
    allow_spec_upgrade: bool,
    texts: Texts = POST_TEXTS,
    keep_ids: bool = False,
) -> NewOrder:
    """`keep_ids` keeps line-item contact ids of the payload (orders imported as recorded).

    Raises the first "does not exist" error; never raises a "missing" one (phase 1 did)."""
    account = consumer = contact = None
    related: list[tuple[str, str | None, str]] = []
    for index, party in enumerate(payload.get("relatedParty") or []):
        kind = PARTY_KINDS[party["@referredType"]]
        found = refs.party(plain_text(party["id"]), kind)
        if found is None:
            text = {
                "account": texts.account_not_found,
                "consumer": texts.consumer_not_found,
                "contact": "Invalid payload: Customer Contact does not exist.",
            }[kind]
            raise invalid(text, f"/relatedParty/{index}/id")
        if kind == "account":
            account = account or found.sys_id
        elif kind == "consumer":
            consumer = consumer or found.sys_id
        else:
            contact = contact or found.sys_id
        related.append(
            (plain_text(party["id"]), party.get("name") or found.name, party["@referredType"])
        )
    items_payload: list[dict[str, Any]] = payload["serviceOrderItem"]
    parents = parent_links(items_payload)
    items = [
        _build_item(
            item,
            index,
            refs,
            parents,
            texts,
            allow_spec_upgrade=allow_spec_upgrade,
            keep_ids=keep_ids,
        )
        for index, item in enumerate(items_payload)
    ]
    notes = []
    for note in payload.get("note") or []:
        date = optional_date(note, "date", "/note") or now
        notes.append((note.get("id"), str(note.get("text", "")), note.get("author") or user, date))
    return NewOrder(
        sys_id=order_id,
        external_id=plain_text(payload.get("externalId")) or None,
        order_date=optional_date(payload, "orderDate", "/orderDate") or now,
        requested_start_date=optional_date(payload, "requestedStartDate", "/requestedStartDate"),
        requested_completion_date=optional_date(
            payload, "requestedCompletionDate", "/requestedCompletionDate"
        ),
        expected_completion_date=optional_date(
            payload, "expectedCompletionDate", "/expectedCompletionDate"
        ),
        committed_due_date=optional_date(payload, "committedDueDate", "/committedDueDate"),
        order_currency=payload.get("orderCurrency"),
        fulfillment_type=plain_text(payload.get("fulfillmentType")) or "deliver",
        priority=_optional_str(payload.get("priority")),
        description=_optional_str(payload.get("description")),
        category=_optional_str(payload.get("category")),
        account=account,
        consumer=consumer,
        contact=contact,
        related_parties=related,
        notes=notes,
        items=items,
        type_annotation=_optional_str(payload.get("@type")),
        created_by=user,
    )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _build_item(
    item: dict[str, Any],
    index: int,
    refs: References,
    parents: dict[str, str],
    texts: Texts,
    *,
    allow_spec_upgrade: bool,
    keep_ids: bool,
) -> NewItem:
    path = f"/serviceOrderItem/{index}"
    action = item["action"].strip()
    service: dict[str, Any] = item["service"]
    inventory = _inventory(action, service, refs, path, texts)
    spec_request = service.get("serviceSpecification")
    specification = _specification(
        spec_request,
        inventory,
        refs,
        path,
        texts,
        action=action,
        allow_spec_upgrade=allow_spec_upgrade,
    )
    offering = _offering(item, refs, path, texts)
    place = item.get("place")
    location = _location(place, inventory, refs, path)
    relationships = _relationships(service, refs, path, texts)
    characteristics, notes = _characteristics(service, specification, inventory)
    quantity = item.get("quantity")
    return NewItem(
        sys_id=new_sys_id(),
        external_id=plain_text(item["id"]),
        position=index,
        action=action,
        action_reason=_optional_str(item.get("actionReason")),
        quantity=int(quantity) if quantity not in (None, "") else None,
        committed_due_date=optional_date(item, "committedDueDate", f"{path}/committedDueDate"),
        location=location,
        is_move=bool(
            action == "change"
            and inventory
            and location
            and inventory.location
            and location != inventory.location
        ),
        specification=specification,
        inventory=inventory,
        offering=offering,
        parent_external_id=parents.get(plain_text(item["id"])),
        requires=[
            plain_text(r["id"])
            for r in item.get("orderRelationship") or []
            if r.get("relationshipType") == "Requires"
        ],
        characteristics=characteristics,
        contacts=[
            NewContact(
                (keep_ids and plain_text(c.get("id"))) or new_sys_id(),
                str(c.get("firstName", "")),
                str(c.get("lastName", "")),
                str(c.get("email", "")),
                str(c.get("phone", "")),
                c["@referredType"],
            )
            for c in item.get("relatedParty") or []
        ],
        service_relationships=relationships,
        external_inventory=[
            plain_text(e["externalProductInventoryId"])
            for e in item.get("externalProductInventory") or []
        ],
        work_notes=notes,
        service_type_annotation=_optional_str(service.get("@type")),
        service_state=_optional_str(service.get("serviceState") or service.get("state")),
        spec_type_annotation=_optional_str((spec_request or {}).get("@type")),
        place_type_annotation=_optional_str((place or {}).get("@type")),
        type_annotation=_optional_str(item.get("@type")),
    )


def _inventory(
    action: str, service: dict[str, Any], refs: References, path: str, texts: Texts
) -> Inventory | None:
    if action not in INVENTORY_ACTIONS:
        return None
    inventory = refs.inventories.get(plain_text(service["id"]))
    if inventory is None:
        raise invalid(texts.inventory_not_found, f"{path}/service/id")
    _check_inventory_state(action, inventory, f"{path}/service/id", texts)
    return inventory


def _specification(
    spec_request: dict[str, Any] | None,
    inventory: Inventory | None,
    refs: References,
    path: str,
    texts: Texts,
    *,
    action: str,
    allow_spec_upgrade: bool,
) -> Specification | None:
    """An item on an inventory keeps the inventory's version unless it names one; naming
    another is an upgrade: only a "change", within one specification, when upgrades are allowed."""
    specification = None
    if spec_request is not None:
        specification = resolve_specification(
            refs.specifications.get(plain_text(spec_request["id"]), []), spec_request, action=action
        )
        if specification is None:
            raise invalid(texts.spec_not_found, f"{path}/service/serviceSpecification")
    if inventory is not None:
        current = refs.specification_versions.get(inventory.specification)
        names_version = spec_request is not None and (
            spec_request.get("internalVersion") or spec_request.get("version")
        )
        if specification is None or not names_version:
            specification = current
        elif current is not None and specification.sys_id != current.sys_id:
            same_spec = specification.initial_version == current.initial_version
            if not (same_spec and allow_spec_upgrade and action == "change"):
                raise ApiError(
                    ErrorKind.INVALID_FIELD,
                    m.ORDERHUB_SPEC_VERSION_MISMATCH,
                    f"{path}/service/serviceSpecification",
                )
    return specification


def _offering(item: dict[str, Any], refs: References, path: str, texts: Texts) -> str | None:
    if item.get("serviceOffering") is None:
        return None
    found_offering = refs.offerings.get(plain_text(item["serviceOffering"]["id"]))
    if found_offering is None:
        raise invalid(texts.offering_not_found, f"{path}/serviceOffering/id")
    return found_offering.sys_id


def _location(
    place: dict[str, Any] | None, inventory: Inventory | None, refs: References, path: str
) -> str | None:
    """An item that names no place stays where its inventory is."""
    if place is not None:
        found_location = refs.locations.get(plain_text(place["id"]))
        if found_location is None:
            raise invalid("Invalid payload: Location does not exist.", f"{path}/place/id")
        return found_location.sys_id
    if inventory is not None:
        return inventory.location
    return None


def _relationships(
    service: dict[str, Any], refs: References, path: str, texts: Texts
) -> list[tuple[str, str, str]]:
    relationships = []
    for r_index, rel in enumerate(service.get("serviceRelationship") or []):
        related = refs.inventories.get(plain_text(rel["id"]))
        if related is None:
            raise invalid(
                texts.inventory_not_found,
                f"{path}/service/serviceRelationship/{r_index}/id",
            )
        relationships.append(
            (
                plain_text(rel["id"]),
                related.sys_id,
                plain_text(rel.get("relationshipType")) or "Requires",
            )
        )
    return relationships


def _check_inventory_state(action: str, inventory: Inventory, datapath: str, texts: Texts) -> None:
    if action == "resume":
        if inventory.state != "suspended":
            raise invalid(m.ORDERHUB_SOLD_PRODUCT_NOT_SUSPENDED, datapath)
    elif action == "suspend":
        if inventory.state != "active":
            raise invalid(m.ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE, datapath)
    elif inventory.state != "active":
        raise invalid(texts.inventory_inactive, datapath)


def _characteristics(
    service: dict[str, Any], specification: Specification | None, inventory: Inventory | None
) -> tuple[list[NewCharacteristic], list[str]]:
    """Unknown names and values outside the options become work notes, not errors."""
    result: list[NewCharacteristic] = []
    notes: list[str] = []
    unknown = False
    for char in service.get("serviceCharacteristic") or []:
        name = plain_text(char["name"])
        value = "" if char.get("value") is None else str(char["value"])
        previous = char.get("previousValue")
        if previous is None and inventory is not None:
            previous = inventory.characteristics.get(name, "")
        result.append(
            NewCharacteristic(
                name,
                value,
                "" if previous is None else str(previous),
                _optional_str(char.get("valueType")),
            )
        )
        if specification is None:
            continue
        spec_char = specification.characteristic(name)
        if spec_char is None:
            unknown = True
        elif not spec_char.allows(value):
            notes.append(
                m.WORK_NOTE_CHARACTERISTIC_VALUE_INVALID.format(
                    characteristic_name=name, characteristic_value=value
                )
            )
    if unknown and specification is not None:
        notes.insert(
            0, m.WORK_NOTE_CHARACTERISTICS_NOT_EXIST.format(specification_name=specification.name)
        )
    return result, notes
