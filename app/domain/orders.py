"""Creating a service order: the contract's checks and what gets stored, with no I/O.

Two phases, so the front end can refuse what needs no database before anything is queued:
`check_request` (shape and the seed's "missing" texts) and `build_order` (the "does not
exist" texts, against references the store fetched for `reference_ids`).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.domain import messages as m
from app.domain.dates import parse_date
from app.domain.errors import ApiError, ErrorKind
from app.domain.references import Inventory, ReferenceIds, References, Specification

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


@dataclass(frozen=True)
class Texts:
    """The seed's texts differ between POST and PATCH; each endpoint passes its own list."""

    body_missing: str
    item_missing: str
    item_id_missing: str
    item_action_missing: str
    item_service_missing: str
    spec_missing: str
    spec_id_missing: str
    spec_not_found: str
    inventory_id_missing: str
    inventory_not_found: str
    inventory_inactive: str
    related_party_missing: str
    customer_or_consumer_missing: str
    account_not_found: str
    consumer_not_found: str
    offering_id_missing: str
    offering_not_found: str
    creation_failed: str


POST_TEXTS = Texts(
    body_missing=m.POST_REQUEST_BODY_MISSING,
    item_missing=m.POST_ITEM_MISSING,
    item_id_missing=m.POST_ITEM_ID_MISSING,
    item_action_missing=m.POST_ITEM_ACTION_MISSING,
    item_service_missing=m.POST_ITEM_SERVICE_MISSING,
    spec_missing=m.POST_SPECIFICATION_MISSING,
    spec_id_missing=m.POST_SPECIFICATION_ID_MISSING,
    spec_not_found=m.POST_SPECIFICATION_NOT_FOUND,
    inventory_id_missing=m.POST_PRODUCT_INVENTORY_ID_MISSING,
    inventory_not_found=m.POST_PRODUCT_INVENTORY_NOT_FOUND,
    inventory_inactive=m.POST_SOLD_PRODUCT_INACTIVE,
    related_party_missing=m.POST_CUSTOMER_OR_CONSUMER_MISSING,
    customer_or_consumer_missing=m.POST_CUSTOMER_OR_CONSUMER_MISSING,
    account_not_found=m.POST_CUSTOMER_ACCOUNT_NOT_FOUND,
    consumer_not_found=m.POST_CONSUMER_NOT_FOUND,
    offering_id_missing=m.PATCH_SERVICE_OFFERING_ID_MISSING,
    offering_not_found=m.PATCH_SERVICE_OFFERING_NOT_FOUND,
    creation_failed=m.POST_ORDER_CREATION_FAILED,
)
PATCH_TEXTS = Texts(
    body_missing=m.PATCH_REQUEST_BODY_MISSING,
    item_missing=m.PATCH_ITEM_MISSING,
    item_id_missing=m.PATCH_ITEM_ID_MISSING,
    item_action_missing=m.PATCH_ITEM_ACTION_MISSING,
    item_service_missing=m.PATCH_ITEM_SERVICE_MISSING,
    spec_missing=m.PATCH_SPECIFICATION_MISSING,
    spec_id_missing=m.PATCH_SPECIFICATION_ID_MISSING,
    spec_not_found=m.PATCH_SPECIFICATION_NOT_FOUND,
    inventory_id_missing=m.PATCH_SERVICE_INVENTORY_ID_MISSING,
    inventory_not_found=m.PATCH_SERVICE_INVENTORY_NOT_FOUND,
    inventory_inactive=m.PATCH_SOLD_SERVICE_INACTIVE,
    related_party_missing=m.PATCH_RELATED_PARTY_MISSING,
    customer_or_consumer_missing=m.PATCH_CUSTOMER_OR_CONSUMER_MISSING,
    account_not_found=m.PATCH_CUSTOMER_ACCOUNT_NOT_FOUND,
    consumer_not_found=m.PATCH_CONSUMER_NOT_FOUND,
    offering_id_missing=m.PATCH_SERVICE_OFFERING_ID_MISSING,
    offering_not_found=m.PATCH_SERVICE_OFFERING_NOT_FOUND,
    creation_failed=m.PATCH_ORDER_CREATION_FAILED,
)


def new_sys_id() -> str:
    """32 hex digits, as ServiceNow's sys_ids. Not secret (whoever may read an order may list
    them all), only unique: 128 random bits, without uuid4's system call per id."""
    return f"{random.getrandbits(128):032x}"


def _missing(detail: str, datapath: str = "/") -> ApiError:
    return ApiError(ErrorKind.MISSING_FIELD, detail, datapath)


def _invalid(detail: str, datapath: str = "/") -> ApiError:
    return ApiError(ErrorKind.INVALID_FIELD, detail, datapath)


def _text(value: Any) -> str:
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


def _date(payload: dict[str, Any], name: str, datapath: str, suffix: str = "") -> datetime | None:
    raw = payload.get(name)
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            return parse_date(raw)
        except ValueError:
            pass
    raise _invalid(f"Invalid payload: {name} is not a valid date.", datapath + suffix)


# --- phase 1: no database --------------------------------------------------------------------


def check_request(
    payload: dict[str, Any], texts: Texts = POST_TEXTS, known_items: frozenset[str] = frozenset()
) -> ReferenceIds:
    """Raises the first "missing" or shape error, in the seed's order; returns the ids to fetch."""
    if not payload:
        raise ApiError(ErrorKind.MISSING_BODY, texts.body_missing)
    items = _objects(payload.get("serviceOrderItem"), "/serviceOrderItem")
    if not items:
        raise _missing(texts.item_missing, "/serviceOrderItem")
    ids = ReferenceIds()
    _check_parties(payload, ids, texts)
    for name in ORDER_DATES:
        _date(payload, name, "/", name)
    currency = payload.get("orderCurrency")
    if currency is not None and not (isinstance(currency, str) and _CURRENCY.match(currency)):
        raise _invalid("Invalid payload: orderCurrency is not an ISO 4217 code.", "/orderCurrency")
    _objects(payload.get("note"), "/note")
    seen: set[str] = set()
    for index, item in enumerate(items):
        _check_item(item, index, ids, seen, texts)
    item_ids = {_text(i.get("id")) for i in items} | known_items
    for index, item in enumerate(items):
        for rel_index, rel in enumerate(
            _objects(
                item.get("orderRelationship"), f"/serviceOrderItem/{index}", "/orderRelationship"
            )
        ):
            path = f"/serviceOrderItem/{index}/orderRelationship/{rel_index}"
            if not _text(rel.get("id")):
                raise _missing("Invalid payload: orderRelationship id is missing.", f"{path}/id")
            if rel.get("relationshipType") not in RELATIONSHIP_TYPES:
                raise _invalid(
                    "Invalid payload: orderRelationship relationshipType must be one "
                    f"of {', '.join(RELATIONSHIP_TYPES)}.",
                    f"{path}/relationshipType",
                )
            if _text(rel.get("id")) not in item_ids:
                raise _invalid(
                    f"Invalid payload: orderRelationship id {rel['id']} does not match "
                    "a serviceOrderItem id.",
                    f"{path}/id",
                )
    _parents(items)
    return ids


def _check_parties(payload: dict[str, Any], ids: ReferenceIds, texts: Texts) -> None:
    if payload.get("relatedParty") is None:
        raise _missing(texts.related_party_missing, "/relatedParty")
    parties = _objects(payload.get("relatedParty"), "/relatedParty")
    has_customer = False
    for index, party in enumerate(parties):
        kind = PARTY_KINDS.get(party.get("@referredType", ""))
        if kind is None:
            raise _invalid(
                "Invalid payload: relatedParty @referredType must be one of "
                f"{', '.join(PARTY_KINDS)}.",
                f"/relatedParty/{index}/@referredType",
            )
        party_id = _text(party.get("id"))
        if not party_id:
            raise _missing(
                "Invalid payload: relatedParty id is missing.", f"/relatedParty/{index}/id"
            )
        getattr(ids, f"{kind}s").add(party_id)
        has_customer = has_customer or kind in ("account", "consumer")
    if not has_customer:
        raise _missing(texts.customer_or_consumer_missing, "/relatedParty")


def _check_item(
    item: dict[str, Any], index: int, ids: ReferenceIds, seen: set[str], texts: Texts
) -> None:
    path = f"/serviceOrderItem/{index}"
    item_id = _text(item.get("id"))
    if not item_id:
        raise _missing(texts.item_id_missing, f"{path}/id")
    if item_id in seen:
        raise _invalid(texts.creation_failed, f"{path}/id")
    seen.add(item_id)
    action = _text(item.get("action"))
    if not action:
        raise _missing(texts.item_action_missing, f"{path}/action")
    if action not in ACTIONS:
        raise _invalid(
            f"Invalid payload: serviceOrderItem action {action} is not one of "
            f"{', '.join(ACTIONS)}.",
            f"{path}/action",
        )
    service = _object(item.get("service"), path, "/service")
    if service is None:
        raise _missing(texts.item_service_missing, f"{path}/service")
    spec = _object(service.get("serviceSpecification"), path, "/service/serviceSpecification")
    if spec is None and action == "add":
        raise _missing(texts.spec_missing, f"{path}/service/serviceSpecification")
    if spec is not None:
        spec_id = _text(spec.get("id"))
        if not spec_id:
            raise _missing(texts.spec_id_missing, f"{path}/service/serviceSpecification/id")
        ids.specifications.add(spec_id)
    if action in INVENTORY_ACTIONS:
        inventory_id = _text(service.get("id"))
        if not inventory_id:
            raise _missing(texts.inventory_id_missing, f"{path}/service/id")
        ids.inventories.add(inventory_id)
    offering = item.get("serviceOffering")
    if offering is not None:
        offering_id = _text(offering.get("id")) if isinstance(offering, dict) else ""
        if not offering_id:
            raise _missing(texts.offering_id_missing, f"{path}/serviceOffering/id")
        ids.offerings.add(offering_id)
    place = _object(item.get("place"), path, "/place")
    if place is not None:
        place_id = _text(place.get("id"))
        if not place_id:
            raise _missing("Invalid payload: place id is missing.", f"{path}/place/id")
        ids.locations.add(place_id)
    quantity = item.get("quantity")
    if quantity is not None and quantity != "" and not _positive_int(quantity):
        raise _invalid(
            "Invalid payload: quantity must be a whole number of at least 1.", f"{path}/quantity"
        )
    _date(item, "committedDueDate", path, "/committedDueDate")
    for c_index, char in enumerate(
        _objects(service.get("serviceCharacteristic"), path, "/service/serviceCharacteristic")
    ):
        if not _text(char.get("name")):
            raise _missing(
                "Invalid payload: serviceCharacteristic name is missing.",
                f"{path}/service/serviceCharacteristic/{c_index}/name",
            )
    for r_index, rel in enumerate(
        _objects(service.get("serviceRelationship"), path, "/service/serviceRelationship")
    ):
        rel_id = _text(rel.get("id"))
        if not rel_id:
            raise _missing(
                texts.inventory_id_missing,
                f"{path}/service/serviceRelationship/{r_index}/id",
            )
        ids.inventories.add(rel_id)
    for c_index, contact in enumerate(_objects(item.get("relatedParty"), path, "/relatedParty")):
        if not _text(contact.get("@referredType")):
            raise _missing(
                "Invalid payload: serviceOrderItem relatedParty @referredType is missing.",
                f"{path}/relatedParty/{c_index}/@referredType",
            )
    for e_index, ext in enumerate(
        _objects(item.get("externalProductInventory"), path, "/externalProductInventory")
    ):
        if not _text(ext.get("externalProductInventoryId")):
            raise _missing(
                "Invalid payload: externalProductInventoryId is missing.",
                f"{path}/externalProductInventory/{e_index}",
            )


def _positive_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value >= 1
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) >= 1
    return False


def _parents(items: list[dict[str, Any]]) -> dict[str, str]:
    """Item id -> parent item id, from HasParent/HasChild; one parent each and no cycles."""
    parents: dict[str, str] = {}

    def link(child: str, parent: str) -> None:
        if parents.get(child, parent) != parent or child == parent:
            raise _invalid(
                f"Invalid payload: serviceOrderItem {child} has more than one parent.",
                "/serviceOrderItem",
            )
        parents[child] = parent

    for item in items:
        item_id = _text(item.get("id"))
        for rel in item.get("orderRelationship") or []:
            if rel.get("relationshipType") == "HasParent":
                link(item_id, _text(rel.get("id")))
            elif rel.get("relationshipType") == "HasChild":
                link(_text(rel.get("id")), item_id)
    for start in parents:
        seen = {start}
        node = start
        while node in parents:
            node = parents[node]
            if node in seen:
                raise _invalid(
                    "Invalid payload: orderRelationship HasParent/HasChild form a cycle.",
                    "/serviceOrderItem",
                )
            seen.add(node)
    return parents


# --- phase 2: against reference data ---------------------------------------------------------


@dataclass
class NewCharacteristic:
    name: str
    value: str
    previous_value: str
    value_type: str | None


@dataclass
class NewContact:
    sys_id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    referred_type: str


@dataclass
class NewItem:
    sys_id: str
    external_id: str
    position: int
    action: str
    action_reason: str | None
    quantity: int | None
    committed_due_date: datetime | None
    location: str | None
    is_move: bool
    specification: Specification | None
    inventory: Inventory | None
    offering: str | None
    parent_external_id: str | None
    requires: list[str]
    characteristics: list[NewCharacteristic]
    contacts: list[NewContact]
    service_relationships: list[tuple[str, str, str]]
    external_inventory: list[str]
    work_notes: list[str]
    service_type_annotation: str | None
    service_state: str | None
    spec_type_annotation: str | None
    place_type_annotation: str | None
    type_annotation: str | None


@dataclass
class NewOrder:
    sys_id: str
    external_id: str | None
    order_date: datetime
    requested_start_date: datetime | None
    requested_completion_date: datetime | None
    expected_completion_date: datetime | None
    committed_due_date: datetime | None
    order_currency: str | None
    fulfillment_type: str
    priority: str | None
    description: str | None
    category: str | None
    account: str | None
    consumer: str | None
    contact: str | None
    related_parties: list[tuple[str, str | None, str]]
    notes: list[tuple[str | None, str, str, datetime]]
    items: list[NewItem]
    type_annotation: str | None
    created_by: str
    work_notes: list[tuple[str | None, str]] = field(default_factory=list)


def resolve_specification(
    candidates: list[Specification], requested: dict[str, Any], *, action: str
) -> Specification | None:
    """The version an order names, or the latest published one when it names none."""
    internal = _text(str(requested.get("internalVersion") or ""))
    external = _text(requested.get("version"))
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
        found = refs.party(_text(party["id"]), kind)
        if found is None:
            text = {
                "account": texts.account_not_found,
                "consumer": texts.consumer_not_found,
                "contact": "Invalid payload: Customer Contact does not exist.",
            }[kind]
            raise _invalid(text, f"/relatedParty/{index}/id")
        if kind == "account":
            account = account or found.sys_id
        elif kind == "consumer":
            consumer = consumer or found.sys_id
        else:
            contact = contact or found.sys_id
        related.append(
            (_text(party["id"]), party.get("name") or found.name, party["@referredType"])
        )
    items_payload: list[dict[str, Any]] = payload["serviceOrderItem"]
    parents = _parents(items_payload)
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
        date = _date(note, "date", "/note") or now
        notes.append((note.get("id"), str(note.get("text", "")), note.get("author") or user, date))
    return NewOrder(
        sys_id=order_id,
        external_id=_text(payload.get("externalId")) or None,
        order_date=_date(payload, "orderDate", "/orderDate") or now,
        requested_start_date=_date(payload, "requestedStartDate", "/requestedStartDate"),
        requested_completion_date=_date(
            payload, "requestedCompletionDate", "/requestedCompletionDate"
        ),
        expected_completion_date=_date(
            payload, "expectedCompletionDate", "/expectedCompletionDate"
        ),
        committed_due_date=_date(payload, "committedDueDate", "/committedDueDate"),
        order_currency=payload.get("orderCurrency"),
        fulfillment_type=_text(payload.get("fulfillmentType")) or "deliver",
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
    inventory = None
    if action in INVENTORY_ACTIONS:
        inventory = refs.inventories.get(_text(service["id"]))
        if inventory is None:
            raise _invalid(texts.inventory_not_found, f"{path}/service/id")
        _check_inventory_state(action, inventory, f"{path}/service/id", texts)
    spec_request = service.get("serviceSpecification")
    specification = None
    if spec_request is not None:
        specification = resolve_specification(
            refs.specifications.get(_text(spec_request["id"]), []), spec_request, action=action
        )
        if specification is None:
            raise _invalid(texts.spec_not_found, f"{path}/service/serviceSpecification")
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
    offering = None
    if item.get("serviceOffering") is not None:
        found_offering = refs.offerings.get(_text(item["serviceOffering"]["id"]))
        if found_offering is None:
            raise _invalid(texts.offering_not_found, f"{path}/serviceOffering/id")
        offering = found_offering.sys_id
    location = None
    place = item.get("place")
    if place is not None:
        found_location = refs.locations.get(_text(place["id"]))
        if found_location is None:
            raise _invalid("Invalid payload: Location does not exist.", f"{path}/place/id")
        location = found_location.sys_id
    elif inventory is not None:
        location = inventory.location
    relationships = []
    for r_index, rel in enumerate(service.get("serviceRelationship") or []):
        related = refs.inventories.get(_text(rel["id"]))
        if related is None:
            raise _invalid(
                texts.inventory_not_found,
                f"{path}/service/serviceRelationship/{r_index}/id",
            )
        relationships.append(
            (_text(rel["id"]), related.sys_id, _text(rel.get("relationshipType")) or "Requires")
        )
    characteristics, notes = _characteristics(service, specification, inventory)
    quantity = item.get("quantity")
    return NewItem(
        sys_id=new_sys_id(),
        external_id=_text(item["id"]),
        position=index,
        action=action,
        action_reason=_optional_str(item.get("actionReason")),
        quantity=int(quantity) if quantity not in (None, "") else None,
        committed_due_date=_date(item, "committedDueDate", f"{path}/committedDueDate"),
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
        parent_external_id=parents.get(_text(item["id"])),
        requires=[
            _text(r["id"])
            for r in item.get("orderRelationship") or []
            if r.get("relationshipType") == "Requires"
        ],
        characteristics=characteristics,
        contacts=[
            NewContact(
                (keep_ids and _text(c.get("id"))) or new_sys_id(),
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
            _text(e["externalProductInventoryId"])
            for e in item.get("externalProductInventory") or []
        ],
        work_notes=notes,
        service_type_annotation=_optional_str(service.get("@type")),
        service_state=_optional_str(service.get("serviceState") or service.get("state")),
        spec_type_annotation=_optional_str((spec_request or {}).get("@type")),
        place_type_annotation=_optional_str((place or {}).get("@type")),
        type_annotation=_optional_str(item.get("@type")),
    )


def _check_inventory_state(action: str, inventory: Inventory, datapath: str, texts: Texts) -> None:
    if action == "resume":
        if inventory.state != "suspended":
            raise _invalid(m.ORDERHUB_SOLD_PRODUCT_NOT_SUSPENDED, datapath)
    elif action == "suspend":
        if inventory.state != "active":
            raise _invalid(m.ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE, datapath)
    elif inventory.state != "active":
        raise _invalid(texts.inventory_inactive, datapath)


def _characteristics(
    service: dict[str, Any], specification: Specification | None, inventory: Inventory | None
) -> tuple[list[NewCharacteristic], list[str]]:
    """Unknown names and values outside the options become work notes, not errors (L2737)."""
    result: list[NewCharacteristic] = []
    notes: list[str] = []
    unknown = False
    for char in service.get("serviceCharacteristic") or []:
        name = _text(char["name"])
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
