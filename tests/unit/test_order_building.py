"""build_order (app/domain/order_building.py) against References built here: the "does not
exist" texts with their datapaths, the specification version an item gets, links between
items, characteristics and their work notes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from app.domain import messages as m
from app.domain.errors import ApiError, ErrorKind
from app.domain.order_building import build_order, resolve_specification
from app.domain.order_checks import check_request
from app.domain.order_texts import PATCH_TEXTS, POST_TEXTS, Texts
from app.domain.references import (
    Characteristic,
    Inventory,
    NamedRecord,
    Party,
    References,
    Specification,
)

Payload = dict[str, Any]
NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

FIREWALL_V1 = Specification(
    sys_id="fw-v1",
    initial_version="fw-v1",
    external_id="SPEC-FW",
    name="Managed Firewall",
    internal_version=1,
    version="v1",
    status="published",
    service_type="cfs",
    ponr_state="fulfilled",
    characteristics=(
        Characteristic("Firewall Security", "Choice", ("Standard", "Premium (Up to 50 sites)")),
        Characteristic("Notes", "Text", ()),
    ),
)
FIREWALL_V2 = replace(FIREWALL_V1, sys_id="fw-v2", internal_version=2, version="v2")
FIREWALL_V3_DRAFT = replace(
    FIREWALL_V1, sys_id="fw-v3", internal_version=3, version="v3", status="draft"
)
ROUTER = replace(
    FIREWALL_V1,
    sys_id="router-v1",
    initial_version="router-v1",
    external_id=None,
    name="Managed Router",
    characteristics=(),
)
RETIRED = replace(ROUTER, sys_id="old-v1", initial_version="old-v1", status="retired")

INV_FIREWALL = Inventory(
    sys_id="inv-fw",
    external_id="PI-FW-1",
    specification="fw-v1",
    location="loc-hq",
    account="acc-1",
    state="active",
    characteristics={"Firewall Security": "Standard"},
)
INV_ROUTER = Inventory("inv-router", None, "router-v1", "loc-hq", "acc-1", "active", {})
INV_SUSPENDED = replace(INV_ROUTER, sys_id="inv-suspended", state="suspended")
INV_INACTIVE = replace(INV_FIREWALL, sys_id="inv-off", external_id=None, state="inactive")


def references() -> References:
    """What the store would fetch for the ids below, keyed by every id each answers to."""
    parties = [
        Party("acc-1", "ACC-1", "Funco Intl", "account"),
        Party("con-1", None, "Funco External", "consumer"),
        Party("ct-1", None, "Sally Thomas", "contact"),
    ]
    locations = [NamedRecord("loc-hq", "HQ", "Head office"), NamedRecord("loc-br", None, "Branch")]
    inventories = [INV_FIREWALL, INV_ROUTER, INV_SUSPENDED, INV_INACTIVE]
    firewall = [FIREWALL_V1, FIREWALL_V2, FIREWALL_V3_DRAFT]
    return References(
        parties={f"{p.kind}:{key}": p for p in parties for key in (p.sys_id, p.external_id) if key},
        locations={key: r for r in locations for key in (r.sys_id, r.external_id) if key},
        offerings={"off-1": NamedRecord("off-1", None, "Gold")},
        inventories={key: i for i in inventories for key in (i.sys_id, i.external_id) if key},
        specifications={
            "fw-v1": firewall,
            "SPEC-FW": firewall,
            "router-v1": [ROUTER],
            "old-v1": [RETIRED],
        },
        specification_versions={s.sys_id: s for s in (*firewall, ROUTER, RETIRED)},
    )


def add_item(item_id: str = "1", spec: Any = "fw-v1", **extra: Any) -> Payload:
    specification = spec if isinstance(spec, dict) else {"id": spec}
    return {
        "id": item_id,
        "action": "add",
        "service": {"serviceSpecification": specification},
        **extra,
    }


def on_inventory(action: str, inventory: str, item_id: str = "1", **service: Any) -> Payload:
    return {"id": item_id, "action": action, "service": {"id": inventory, **service}}


def order(*items: Payload, **fields: Any) -> Payload:
    return {
        "externalId": " EXT-1 ",
        "relatedParty": [
            {"id": "ct-1", "@referredType": "CustomerContact"},
            {"id": "ACC-1", "name": "Funco", "@referredType": "Customer"},
            {"id": "con-1", "@referredType": "Consumer"},
        ],
        "serviceOrderItem": list(items) or [add_item()],
        **fields,
    }


def build(payload: Payload, texts: Texts = POST_TEXTS, *, allow_spec_upgrade: bool = True) -> Any:
    """As the endpoints do: the checks first (they must pass), then the build."""
    check_request(payload, texts)
    return build_order(
        payload,
        references(),
        order_id="order-1",
        user="integrator",
        now=NOW,
        allow_spec_upgrade=allow_spec_upgrade,
        texts=texts,
    )


def refused(payload: Payload, texts: Texts = POST_TEXTS, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        build(payload, texts, **kwargs)
    assert caught.value.kind is ErrorKind.INVALID_FIELD
    return caught.value


def _party(index: int, party_id: str) -> Callable[[Payload], None]:
    def apply(payload: Payload) -> None:
        payload["relatedParty"][index]["id"] = party_id

    return apply


def _second_item(item: Payload) -> Callable[[Payload], None]:
    def apply(payload: Payload) -> None:
        payload["serviceOrderItem"].append(item)

    return apply


# (case, change to a valid order, POST text, PATCH text, datapath)
NOT_FOUND: list[tuple[str, Callable[[Payload], None], str, str, str]] = [
    (
        "account",
        _party(1, "nope"),
        m.POST_CUSTOMER_ACCOUNT_NOT_FOUND,
        m.PATCH_CUSTOMER_ACCOUNT_NOT_FOUND,
        "/relatedParty/1/id",
    ),
    (
        "consumer",
        _party(2, "acc-1"),  # an account's id is not a consumer's
        m.POST_CONSUMER_NOT_FOUND,
        m.PATCH_CONSUMER_NOT_FOUND,
        "/relatedParty/2/id",
    ),
    (
        "contact",
        _party(0, "nope"),
        "Invalid payload: Customer Contact does not exist.",
        "Invalid payload: Customer Contact does not exist.",
        "/relatedParty/0/id",
    ),
    (
        "specification",
        _second_item(add_item("2", "nope")),
        m.POST_SPECIFICATION_NOT_FOUND,
        m.PATCH_SPECIFICATION_NOT_FOUND,
        "/serviceOrderItem/1/service/serviceSpecification",
    ),
    (
        "retired specification",
        _second_item(add_item("2", "old-v1")),
        m.POST_SPECIFICATION_NOT_FOUND,
        m.PATCH_SPECIFICATION_NOT_FOUND,
        "/serviceOrderItem/1/service/serviceSpecification",
    ),
    (
        "inventory",
        _second_item(on_inventory("change", "nope", "2")),
        m.POST_PRODUCT_INVENTORY_NOT_FOUND,
        m.PATCH_SERVICE_INVENTORY_NOT_FOUND,
        "/serviceOrderItem/1/service/id",
    ),
    (
        "inactive inventory",
        _second_item(on_inventory("change", "inv-off", "2")),
        m.POST_SOLD_PRODUCT_INACTIVE,
        m.PATCH_SOLD_SERVICE_INACTIVE,
        "/serviceOrderItem/1/service/id",
    ),
    (
        "related service",
        _second_item(
            {
                "id": "2",
                "action": "add",
                "service": {
                    "serviceSpecification": {"id": "fw-v1"},
                    "serviceRelationship": [
                        {"id": "inv-router", "relationshipType": "Requires"},
                        {"id": "nope", "relationshipType": "Requires"},
                    ],
                },
            }
        ),
        m.POST_PRODUCT_INVENTORY_NOT_FOUND,
        m.PATCH_SERVICE_INVENTORY_NOT_FOUND,
        "/serviceOrderItem/1/service/serviceRelationship/1/id",
    ),
    (
        "offering",
        _second_item(add_item("2", serviceOffering={"id": "nope"})),
        m.PATCH_SERVICE_OFFERING_NOT_FOUND,
        m.PATCH_SERVICE_OFFERING_NOT_FOUND,
        "/serviceOrderItem/1/serviceOffering/id",
    ),
    (
        "place",
        _second_item(add_item("2", place={"id": "nope"})),
        "Invalid payload: Location does not exist.",
        "Invalid payload: Location does not exist.",
        "/serviceOrderItem/1/place/id",
    ),
]
NOT_FOUND_CASES = [
    pytest.param(change, texts, text, path, id=f"{endpoint} {case}")
    for case, change, post_text, patch_text, path in NOT_FOUND
    for endpoint, texts, text in (
        ("POST", POST_TEXTS, post_text),
        ("PATCH", PATCH_TEXTS, patch_text),
    )
]


@pytest.mark.parametrize(("change", "texts", "text", "datapath"), NOT_FOUND_CASES)
def test_an_unknown_reference_has_its_endpoint_text_and_datapath(
    change: Callable[[Payload], None], texts: Texts, text: str, datapath: str
) -> None:
    payload = order()
    build(payload, texts)  # valid as it is
    change(payload)
    error = refused(payload, texts)
    assert (error.detail, error.datapath) == (text, datapath)


@pytest.mark.parametrize(
    ("action", "inventory", "text"),
    [
        ("resume", "inv-router", m.ORDERHUB_SOLD_PRODUCT_NOT_SUSPENDED),
        ("resume", "inv-suspended", None),
        ("suspend", "inv-suspended", m.ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE),
        ("suspend", "inv-router", None),
        ("delete", "inv-suspended", m.POST_SOLD_PRODUCT_INACTIVE),
        ("delete", "inv-router", None),
    ],
)
def test_the_action_needs_its_inventory_state(
    action: str, inventory: str, text: str | None
) -> None:
    payload = order(on_inventory(action, inventory))
    if text is None:
        (item,) = build(payload).items
        assert (item.action, item.inventory.sys_id) == (action, inventory)
    else:
        error = refused(payload)
        assert (error.detail, error.datapath) == (text, "/serviceOrderItem/0/service/id")


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ({"id": "fw-v1"}, "fw-v2"),  # the latest published: not the draft v3
        ({"id": "SPEC-FW"}, "fw-v2"),  # by its external id
        ({"id": "fw-v1", "internalVersion": "1"}, "fw-v1"),
        ({"id": "fw-v1", "internalVersion": 3}, "fw-v3"),  # a draft, when named
        ({"id": "fw-v1", "version": "v1"}, "fw-v1"),
        ({"id": "fw-v1", "internalVersion": "2", "version": "v1"}, "fw-v2"),  # internal first
        ({"id": "fw-v1", "internalVersion": "9"}, None),
        ({"id": "fw-v1", "version": "v9"}, None),
    ],
)
def test_the_version_an_add_gets(requested: Payload, expected: str | None) -> None:
    payload = order(add_item("1", requested))
    if expected is None:
        error = refused(payload)
        assert (error.detail, error.datapath) == (
            m.POST_SPECIFICATION_NOT_FOUND,
            "/serviceOrderItem/0/service/serviceSpecification",
        )
    else:
        (item,) = build(payload).items
        assert item.specification.sys_id == expected


def test_resolve_specification_leaves_retired_versions_to_other_actions() -> None:
    assert resolve_specification([RETIRED], {"id": "old-v1"}, action="add") is None
    assert (
        resolve_specification([RETIRED], {"id": "old-v1"}, action="change") is None
    )  # unpublished
    assert resolve_specification([RETIRED], {"internalVersion": "1"}, action="change") == RETIRED


@pytest.mark.parametrize(
    ("action", "service", "allow_upgrade", "expected"),
    [
        ("change", {}, False, "fw-v1"),  # no specification named: the inventory's version
        ("change", {"serviceSpecification": {"id": "fw-v1"}}, False, "fw-v1"),  # not the latest
        (
            "change",
            {"serviceSpecification": {"id": "fw-v1", "internalVersion": "1"}},
            False,
            "fw-v1",
        ),
        (
            "change",
            {"serviceSpecification": {"id": "fw-v1", "internalVersion": "2"}},
            True,
            "fw-v2",
        ),
        ("change", {"serviceSpecification": {"id": "fw-v1", "version": "v2"}}, False, None),
        ("delete", {"serviceSpecification": {"id": "fw-v1", "internalVersion": "2"}}, True, None),
        ("change", {"serviceSpecification": {"id": "router-v1", "version": "v1"}}, True, None),
    ],
    ids=[
        "no specification",
        "no version",
        "its own version",
        "upgrade allowed",
        "upgrade not allowed",
        "only a change upgrades",
        "another specification",
    ],
)
def test_an_item_on_an_inventory_keeps_its_version_unless_a_change_upgrades_it(
    action: str, service: Payload, allow_upgrade: bool, expected: str | None
) -> None:
    payload = order(on_inventory(action, "inv-fw", **service))
    if expected is None:
        error = refused(payload, allow_spec_upgrade=allow_upgrade)
        assert (error.detail, error.datapath) == (
            m.ORDERHUB_SPEC_VERSION_MISMATCH,
            "/serviceOrderItem/0/service/serviceSpecification",
        )
    else:
        (item,) = build(payload, allow_spec_upgrade=allow_upgrade).items
        assert item.specification.sys_id == expected
        assert item.inventory is INV_FIREWALL


def test_parent_child_and_requires_links_between_items() -> None:
    payload = order(
        add_item("1", orderRelationship=[{"id": "2", "relationshipType": "HasChild"}]),
        add_item(
            "2",
            orderRelationship=[
                {"id": "3", "relationshipType": "Requires"},
                {"id": "4", "relationshipType": "HasChild"},
            ],
        ),
        add_item("3", orderRelationship=[{"id": "1", "relationshipType": "HasParent"}]),
        add_item("4"),
    )
    built = build(payload)
    links = {i.external_id: (i.position, i.parent_external_id, i.requires) for i in built.items}
    assert links == {
        "1": (0, None, []),
        "2": (1, "1", ["3"]),
        "3": (2, "1", []),
        "4": (3, "2", []),
    }


def test_characteristics_are_kept_and_what_the_specification_lacks_becomes_work_notes() -> None:
    payload = order(
        add_item(
            "1",
            service={
                "serviceSpecification": {"id": "fw-v1", "internalVersion": "1"},
                "serviceCharacteristic": [
                    {"name": " firewall SECURITY ", "value": "premium(up to 50 SITES)"},
                    {"name": "Notes", "value": 42, "valueType": "Text"},
                    {"name": "Colour", "value": "Blue"},
                    {"name": "Firewall Security", "value": "Platinum", "previousValue": "Basic"},
                    {"name": "Notes", "value": None},
                ],
            },
        ),
        on_inventory(
            "change",
            "PI-FW-1",
            "2",
            serviceCharacteristic=[
                {"name": "Firewall Security", "value": "Premium (Up to 50 sites)"},
                {"name": "Notes", "value": "x"},
            ],
        ),
    )
    added, changed = build(payload).items
    assert [(c.name, c.value, c.previous_value, c.value_type) for c in added.characteristics] == [
        ("firewall SECURITY", "premium(up to 50 SITES)", "", None),
        ("Notes", "42", "", "Text"),
        ("Colour", "Blue", "", None),
        ("Firewall Security", "Platinum", "Basic", None),
        ("Notes", "", "", None),
    ]
    # Options compare ignoring case and whitespace; an unknown name is named once, first.
    assert added.work_notes == [
        m.WORK_NOTE_CHARACTERISTICS_NOT_EXIST.format(specification_name="Managed Firewall"),
        m.WORK_NOTE_CHARACTERISTIC_VALUE_INVALID.format(
            characteristic_name="Firewall Security", characteristic_value="Platinum"
        ),
    ]
    # A change's previous values come from the inventory when the request gives none.
    assert [(c.name, c.previous_value) for c in changed.characteristics] == [
        ("Firewall Security", "Standard"),
        ("Notes", ""),
    ]
    assert changed.work_notes == []


def test_parties_places_and_defaults_resolve_to_what_is_stored() -> None:
    payload = order(
        add_item("1", place={"id": "HQ"}, serviceOffering={"id": "off-1"}),
        on_inventory("change", "inv-fw", "2"),  # no place: stays where its inventory is
        on_inventory("change", "inv-router", "3") | {"place": {"id": "loc-br"}},
    )
    built = build(payload)
    assert (built.sys_id, built.external_id, built.created_by) == ("order-1", "EXT-1", "integrator")
    assert (built.account, built.consumer, built.contact) == ("acc-1", "con-1", "ct-1")
    assert built.related_parties == [
        ("ct-1", "Sally Thomas", "CustomerContact"),
        ("ACC-1", "Funco", "Customer"),  # the request's name, where it gives one
        ("con-1", "Funco External", "Consumer"),
    ]
    assert (built.order_date, built.fulfillment_type, built.order_currency) == (
        NOW,
        "deliver",
        None,
    )
    placed = {i.external_id: (i.location, i.is_move, i.offering) for i in built.items}
    assert placed == {
        "1": ("loc-hq", False, "off-1"),
        "2": ("loc-hq", False, None),
        "3": ("loc-br", True, None),
    }
