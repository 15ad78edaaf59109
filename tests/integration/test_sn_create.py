"""POST /api/sn_tmf_api/order/serviceOrder: the seed's 400 texts, what a valid order stores."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from app.domain import messages as m
from app.http.app import create_app
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.databases import ALL_ORDER_TABLES, counts, fetch
from tests.helpers.error_objects import error_detail
from tests.helpers.in_process import app_client, shared_demo_client
from tests.helpers.payloads import (
    ACCOUNT,
    BRANCH,
    CONSUMER,
    CONTACT,
    EDGE_SPEC,
    FIREWALL_SPEC,
    FIREWALL_SPEC_V2,
    INV_ACTIVE,
    INV_INACTIVE,
    INV_ROUTER,
    INV_SUSPENDED,
    LINK_SPEC,
    OFFERING,
    ORDERS,
    RETIRED_SPEC,
    ROUTER_SPEC,
    SDWAN_SPEC,
    UNKNOWN_ID,
    add_order,
    item,
    order_of,
    sdwan_hierarchy,
)

Payload = dict[str, Any]
Shared = tuple[TestClient, str]


@pytest.fixture(scope="module")
async def shared(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[Shared]:
    """One demo database for the refusals: each checks that it wrote nothing."""
    async with shared_demo_client(postgres_admin_url, demo_template_db, redis_url) as pair:
        yield pair


def _first_item(body: Payload) -> Payload:
    first: Payload = body["serviceOrderItem"][0]
    return first


def _without(path: str) -> Callable[[], Payload]:
    """An add order with one key removed; path is dotted from the first item ('' = order)."""

    def build() -> Payload:
        body = add_order()
        target = body
        *parents, last = path.split(".")
        for name in parents:
            target = _first_item(body) if name == "item" else target[name]
        del target[last]
        return body

    return build


def _with_parties(*kinds: tuple[str, str]) -> Callable[[], Payload]:
    def build() -> Payload:
        body = add_order()
        body["relatedParty"] = [
            {"id": party_id, "@type": "RelatedParty", "@referredType": kind}
            for kind, party_id in kinds
        ]
        return body

    return build


def _inventory_order(action: str, inventory: str | None) -> Callable[[], Payload]:
    return lambda: order_of(item(action, inventory=inventory))


def _spec(spec_id: str) -> Callable[[], Payload]:
    def build() -> Payload:
        body = add_order()
        _first_item(body)["service"]["serviceSpecification"]["id"] = spec_id
        return body

    return build


def _spec_without_id() -> Payload:
    body = add_order()
    del _first_item(body)["service"]["serviceSpecification"]["id"]
    return body


def _duplicate_item_ids() -> Payload:
    body = add_order()
    body["serviceOrderItem"].append(dict(_first_item(body)))
    return body


def _offering(offering: Any) -> Callable[[], Payload]:
    def build() -> Payload:
        body = add_order()
        _first_item(body)["serviceOffering"] = offering
        return body

    return build


def _no_items() -> Payload:
    body = add_order()
    body["serviceOrderItem"] = []
    return body


POST_ERRORS = [
    pytest.param(
        lambda: {}, 21, m.POST_REQUEST_BODY_MISSING, "/", id="POST_REQUEST_BODY_MISSING-{}"
    ),
    pytest.param(
        _without("serviceOrderItem"),
        23,
        m.POST_ITEM_MISSING,
        "/serviceOrderItem",
        id="POST_ITEM_MISSING",
    ),
    pytest.param(
        _no_items, 23, m.POST_ITEM_MISSING, "/serviceOrderItem", id="POST_ITEM_MISSING-[]"
    ),
    pytest.param(
        _without("item.id"),
        23,
        m.POST_ITEM_ID_MISSING,
        "/serviceOrderItem/0/id",
        id="POST_ITEM_ID_MISSING",
    ),
    pytest.param(
        _without("item.action"),
        23,
        m.POST_ITEM_ACTION_MISSING,
        "/serviceOrderItem/0/action",
        id="POST_ITEM_ACTION_MISSING",
    ),
    pytest.param(
        _without("item.service"),
        23,
        m.POST_ITEM_SERVICE_MISSING,
        "/serviceOrderItem/0/service",
        id="POST_ITEM_SERVICE_MISSING",
    ),
    pytest.param(
        _without("item.service.serviceSpecification"),
        23,
        m.POST_SPECIFICATION_MISSING,
        "/serviceOrderItem/0/service/serviceSpecification",
        id="POST_SPECIFICATION_MISSING",
    ),
    pytest.param(
        _spec_without_id,
        23,
        m.POST_SPECIFICATION_ID_MISSING,
        "/serviceOrderItem/0/service/serviceSpecification/id",
        id="POST_SPECIFICATION_ID_MISSING",
    ),
    pytest.param(
        _spec(UNKNOWN_ID),
        24,
        m.POST_SPECIFICATION_NOT_FOUND,
        "/serviceOrderItem/0/service/serviceSpecification",
        id="POST_SPECIFICATION_NOT_FOUND",
    ),
    pytest.param(
        _spec(RETIRED_SPEC),
        24,
        m.POST_SPECIFICATION_NOT_FOUND,
        "/serviceOrderItem/0/service/serviceSpecification",
        id="POST_SPECIFICATION_NOT_FOUND-retired",
    ),
    pytest.param(
        _inventory_order("change", None),
        23,
        m.POST_PRODUCT_INVENTORY_ID_MISSING,
        "/serviceOrderItem/0/service/id",
        id="POST_PRODUCT_INVENTORY_ID_MISSING",
    ),
    pytest.param(
        _inventory_order("delete", UNKNOWN_ID),
        24,
        m.POST_PRODUCT_INVENTORY_NOT_FOUND,
        "/serviceOrderItem/0/service/id",
        id="POST_PRODUCT_INVENTORY_NOT_FOUND",
    ),
    pytest.param(
        _inventory_order("change", INV_INACTIVE),
        24,
        m.POST_SOLD_PRODUCT_INACTIVE,
        "/serviceOrderItem/0/service/id",
        id="POST_SOLD_PRODUCT_INACTIVE",
    ),
    pytest.param(
        _inventory_order("delete", INV_INACTIVE),
        24,
        m.POST_SOLD_PRODUCT_INACTIVE,
        "/serviceOrderItem/0/service/id",
        id="POST_SOLD_PRODUCT_INACTIVE-delete",
    ),
    pytest.param(
        _with_parties(("CustomerContact", CONTACT)),
        23,
        m.POST_CUSTOMER_OR_CONSUMER_MISSING,
        "/relatedParty",
        id="POST_CUSTOMER_OR_CONSUMER_MISSING",
    ),
    pytest.param(
        _without("relatedParty"),
        23,
        m.POST_CUSTOMER_OR_CONSUMER_MISSING,
        "/relatedParty",
        id="POST_CUSTOMER_OR_CONSUMER_MISSING-no-relatedParty",
    ),
    pytest.param(
        _with_parties(("Customer", UNKNOWN_ID), ("Consumer", CONSUMER)),
        24,
        m.POST_CUSTOMER_ACCOUNT_NOT_FOUND,
        "/relatedParty/0/id",
        id="POST_CUSTOMER_ACCOUNT_NOT_FOUND",
    ),
    pytest.param(
        _with_parties(("Customer", ACCOUNT), ("Consumer", UNKNOWN_ID)),
        24,
        m.POST_CONSUMER_NOT_FOUND,
        "/relatedParty/1/id",
        id="POST_CONSUMER_NOT_FOUND",
    ),
    pytest.param(
        _duplicate_item_ids,
        24,
        m.POST_ORDER_CREATION_FAILED,
        "/serviceOrderItem/1/id",
        id="POST_ORDER_CREATION_FAILED-duplicate-item-id",
    ),
    pytest.param(
        _offering({"name": "no id"}),
        23,
        m.PATCH_SERVICE_OFFERING_ID_MISSING,
        "/serviceOrderItem/0/serviceOffering/id",
        id="PATCH_SERVICE_OFFERING_ID_MISSING",
    ),
    pytest.param(
        _offering({"id": UNKNOWN_ID}),
        24,
        m.PATCH_SERVICE_OFFERING_NOT_FOUND,
        "/serviceOrderItem/0/serviceOffering/id",
        id="PATCH_SERVICE_OFFERING_NOT_FOUND",
    ),
    pytest.param(
        _inventory_order("suspend", INV_SUSPENDED),
        24,
        m.ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE,
        "/serviceOrderItem/0/service/id",
        id="ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE-suspended",
    ),
    pytest.param(
        _inventory_order("suspend", INV_INACTIVE),
        24,
        m.ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE,
        "/serviceOrderItem/0/service/id",
        id="ORDERHUB_SOLD_PRODUCT_NOT_ACTIVE-inactive",
    ),
    pytest.param(
        _inventory_order("resume", INV_ACTIVE),
        24,
        m.ORDERHUB_SOLD_PRODUCT_NOT_SUSPENDED,
        "/serviceOrderItem/0/service/id",
        id="ORDERHUB_SOLD_PRODUCT_NOT_SUSPENDED",
    ),
]


@pytest.mark.parametrize(("build", "code", "text", "datapath"), POST_ERRORS)
async def test_post_refusal_writes_nothing(
    shared: Shared,
    build: Callable[[], Payload],
    code: int,
    text: str,
    datapath: str,
) -> None:
    client, url = shared
    before = await counts(url)
    resp = await client.post(ORDERS, json=build(), headers=auth("integrator"))
    detail = await error_detail(resp, 400, code)
    assert detail == {"message": text, "datapath": datapath}
    assert await counts(url) == before


async def test_post_empty_body_is_code_21(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    before = await counts(demo_database_url)
    resp = await demo_client.post(
        ORDERS, data=b"", headers={**auth("integrator"), "Content-Type": "application/json"}
    )
    detail = await error_detail(resp, 400, 21)
    assert detail["message"] == m.POST_REQUEST_BODY_MISSING
    assert await counts(demo_database_url) == before


async def _post_with_app(settings: Settings, body: Payload) -> tuple[int, Payload]:
    async with app_client(create_app(settings)) as client:
        resp = await client.post(ORDERS, json=body, headers=auth("integrator"))
        return resp.status, await resp.json()


def _change_to_v2() -> Payload:
    return order_of(
        item(
            "change",
            inventory=INV_ACTIVE,
            spec=FIREWALL_SPEC,
            characteristics=[{"name": "Firewall Security", "value": "Premium"}],
        )
    )


async def test_post_spec_version_mismatch_when_upgrade_disallowed(
    demo_settings: Settings, demo_database_url: str
) -> None:
    settings = dataclasses.replace(
        demo_settings, orderhub_allow_spec_version_update_in_change_order=False
    )
    body = _change_to_v2()
    _first_item(body)["service"]["serviceSpecification"]["internalVersion"] = "2"
    before = await counts(demo_database_url)
    status, answer = await _post_with_app(settings, body)
    assert status == 400, answer
    assert answer["details"][0]["message"] == m.ORDERHUB_SPEC_VERSION_MISMATCH
    assert await counts(demo_database_url) == before
    assert answer["code"] == 24


async def test_post_spec_version_mismatch_text_and_nothing_written(
    demo_settings: Settings, demo_database_url: str
) -> None:
    settings = dataclasses.replace(
        demo_settings, orderhub_allow_spec_version_update_in_change_order=False
    )
    body = _change_to_v2()
    _first_item(body)["service"]["serviceSpecification"]["version"] = "v2"
    before = await counts(demo_database_url)
    status, answer = await _post_with_app(settings, body)
    assert status == 400, answer
    assert answer["details"][0] == {
        "message": m.ORDERHUB_SPEC_VERSION_MISMATCH,
        "datapath": "/serviceOrderItem/0/service/serviceSpecification",
    }
    assert await counts(demo_database_url) == before


async def test_post_change_upgrades_spec_version_by_default(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = _change_to_v2()
    _first_item(body)["service"]["serviceSpecification"]["internalVersion"] = "2"
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    rows = await fetch(
        demo_database_url,
        "SELECT specification FROM order_line_item WHERE order_id = $1",
        answer["id"],
    )
    assert rows == [{"specification": FIREWALL_SPEC_V2}]
    spec = _first_item(answer)["service"]["serviceSpecification"]
    assert (spec["internalVersion"], spec["version"]) == ("2", "v2")


def _action_order(action: str) -> Payload:
    if action == "add":
        return add_order()
    inventory = INV_SUSPENDED if action == "resume" else INV_ACTIVE
    return order_of(item(action, inventory=inventory))


@pytest.mark.parametrize("action", ["add", "change", "delete", "no-change", "suspend", "resume"])
async def test_each_action_is_accepted(shared: Shared, action: str) -> None:
    demo_client, demo_database_url = shared
    resp = await demo_client.post(ORDERS, json=_action_order(action), headers=auth("integrator"))
    body = await resp.json()
    assert resp.status == 201, body
    assert body["state"] == "new" and _first_item(body)["state"] == "new"
    got = await (await demo_client.get(f"{ORDERS}/{body['id']}", headers=auth("integrator"))).json()
    stored = _first_item(got)
    assert stored["action"] == action
    if action != "add":
        assert stored["service"]["id"] == (INV_SUSPENDED if action == "resume" else INV_ACTIVE)
    rows = await fetch(
        demo_database_url,
        "SELECT action, state FROM order_line_item WHERE order_id = $1",
        body["id"],
    )
    assert rows == [{"action": action, "state": "new"}]


async def _work_notes(url: str, order_id: str) -> list[dict[str, Any]]:
    return await fetch(
        url,
        "SELECT w.text, w.line_item, i.external_id FROM work_note w "
        "LEFT JOIN order_line_item i ON i.sys_id = w.line_item WHERE w.order_id = $1 ORDER BY w.id",
        order_id,
    )


async def test_unknown_characteristic_and_bad_value_leave_work_notes(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = add_order()
    _first_item(body)["service"]["serviceCharacteristic"] = [
        {"name": "Colour", "value": "Red"},
        {"name": "Firewall Security", "value": "Gold"},
        {"name": "CPE Type", "value": "Virtual"},
    ]
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    notes = await _work_notes(demo_database_url, answer["id"])
    assert {n["text"] for n in notes} == {
        m.WORK_NOTE_CHARACTERISTICS_NOT_EXIST.format(specification_name="Managed Firewall Service"),
        m.WORK_NOTE_CHARACTERISTIC_VALUE_INVALID.format(
            characteristic_name="Firewall Security", characteristic_value="Gold"
        ),
    }
    assert len(notes) == 2
    assert all(n["external_id"] == "100" for n in notes)


async def test_change_checks_characteristics_against_inventory_spec(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = order_of(
        item(
            "change", inventory=INV_ACTIVE, characteristics=[{"name": "CPE Type", "value": "Cloud"}]
        )
    )
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    notes = await _work_notes(demo_database_url, answer["id"])
    assert [n["text"] for n in notes] == [
        m.WORK_NOTE_CHARACTERISTIC_VALUE_INVALID.format(
            characteristic_name="CPE Type", characteristic_value="Cloud"
        )
    ]


async def test_option_match_ignores_case_and_whitespace(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = add_order()
    _first_item(body)["service"]["serviceCharacteristic"] = [
        {"name": "Administration Support", "value": "basic(customer managed)"},
        {"name": "Firewall coverage", "value": "  PREMIUM(Up to 50sites) "},
        {"name": "Firewall Security", "value": "standard"},
    ]
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    assert await _work_notes(demo_database_url, answer["id"]) == []
    stored = await fetch(
        demo_database_url,
        "SELECT c.value FROM order_characteristic_value c "
        "JOIN order_line_item i ON i.sys_id = c.line_item "
        "WHERE i.order_id = $1 ORDER BY c.position",
        answer["id"],
    )
    assert [r["value"] for r in stored] == [
        "basic(customer managed)",
        "  PREMIUM(Up to 50sites) ",
        "standard",
    ]


async def test_valid_order_writes_one_row_per_table(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = order_of(
        item(
            "add",
            spec=FIREWALL_SPEC,
            characteristics=[{"name": "Firewall Security", "value": "Basic"}],
            relatedParty=[
                {"firstName": "Mike", "lastName": "Hudson", "@referredType": "OrderLineItemContact"}
            ],
            externalProductInventory=[{"externalProductInventoryId": "EXT-PI-1"}],
            place={"id": BRANCH, "@type": "Place"},
        ),
        note=[{"text": "one note"}],
    )
    body["relatedParty"] = [
        {"id": ACCOUNT, "name": "Funco Intl", "@type": "RelatedParty", "@referredType": "Customer"}
    ]
    _first_item(body)["service"]["serviceRelationship"] = [
        {"id": INV_ROUTER, "relationshipType": "Requires"}
    ]
    before = await counts(demo_database_url, ALL_ORDER_TABLES)
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    after = await counts(demo_database_url, ALL_ORDER_TABLES)
    delta = {t: after[t] - before[t] for t in ALL_ORDER_TABLES}
    assert delta == {
        "service_order": 1,
        "order_related_party": 1,
        "order_note": 1,
        "order_line_item": 1,
        "order_characteristic_value": 1,
        "order_line_item_contact": 1,
        "order_line_related_item": 0,
        "order_service_relationship": 1,
        "order_external_inventory": 1,
        "work_note": 0,
        "order_revision": 0,
        "order_cancellation": 0,
    }
    order = await fetch(
        demo_database_url,
        "SELECT state, version, ponr, account, external_id, created_by, fulfillment_type "
        "FROM service_order WHERE sys_id = $1",
        answer["id"],
    )
    assert order == [
        {
            "state": "new",
            "version": 1,
            "ponr": False,
            "account": ACCOUNT,
            "external_id": body["externalId"],
            "created_by": "integrator",
            "fulfillment_type": "deliver",
        }
    ]
    note = await fetch(
        demo_database_url, "SELECT text, author FROM order_note WHERE order_id = $1", answer["id"]
    )
    assert note == [{"text": "one note", "author": "integrator"}]


def _hierarchy() -> Payload:
    """Item 3 names its parent as well (HasParent), item 1 its children (HasChild)."""
    body = sdwan_hierarchy()
    body["serviceOrderItem"][2]["orderRelationship"] = [
        {"id": "1", "relationshipType": "HasParent"}
    ]
    return body


async def test_hierarchy_stores_parent_and_get_renders_relationships(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    resp = await demo_client.post(ORDERS, json=_hierarchy(), headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    rows = await fetch(
        demo_database_url,
        "SELECT i.external_id, p.external_id AS parent FROM order_line_item i "
        "LEFT JOIN order_line_item p ON p.sys_id = i.parent_line_item "
        "WHERE i.order_id = $1 ORDER BY i.position",
        answer["id"],
    )
    assert rows == [
        {"external_id": "1", "parent": None},
        {"external_id": "2", "parent": "1"},
        {"external_id": "3", "parent": "1"},
    ]
    got = await (
        await demo_client.get(f"{ORDERS}/{answer['id']}", headers=auth("integrator"))
    ).json()
    rels = {i["id"]: i.get("orderRelationship", []) for i in got["serviceOrderItem"]}
    assert sorted(rels["1"], key=lambda r: r["id"]) == [
        {"id": "2", "relationshipType": "HasChild"},
        {"id": "3", "relationshipType": "HasChild"},
    ]
    assert rels["2"] == [{"id": "1", "relationshipType": "HasParent"}]
    assert rels["3"] == [{"id": "1", "relationshipType": "HasParent"}]


async def test_requires_is_stored_between_items(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = order_of(
        item(
            "add",
            "1",
            spec=ROUTER_SPEC,
            orderRelationship=[{"id": "2", "relationshipType": "Requires"}],
        ),
        item("add", "2", spec=LINK_SPEC),
    )
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    rows = await fetch(
        demo_database_url,
        "SELECT a.external_id AS item, b.external_id AS related, r.relationship_type "
        "FROM order_line_related_item r JOIN order_line_item a ON a.sys_id = r.line_item "
        "JOIN order_line_item b ON b.sys_id = r.related_line_item WHERE a.order_id = $1",
        answer["id"],
    )
    assert rows == [{"item": "1", "related": "2", "relationship_type": "Requires"}]
    parents = await fetch(
        demo_database_url,
        "SELECT parent_line_item FROM order_line_item WHERE order_id = $1",
        answer["id"],
    )
    assert parents == [{"parent_line_item": None}] * 2
    got = await (
        await demo_client.get(f"{ORDERS}/{answer['id']}", headers=auth("integrator"))
    ).json()
    assert got["serviceOrderItem"][0]["orderRelationship"] == [
        {"id": "2", "relationshipType": "Requires"}
    ]


@pytest.mark.parametrize("kind", ["HasChild", "HasParent", "Requires"])
async def test_relationship_to_unknown_item_is_refused(shared: Shared, kind: str) -> None:
    demo_client, demo_database_url = shared
    body = _hierarchy()
    body["serviceOrderItem"][1]["orderRelationship"] = [{"id": "99", "relationshipType": kind}]
    before = await counts(demo_database_url)
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    detail = await error_detail(resp, 400, 24)
    assert detail["datapath"] == "/serviceOrderItem/1/orderRelationship/0/id"
    assert "99" in detail["message"]
    assert await counts(demo_database_url) == before


async def test_agent_without_integrator_role_is_forbidden(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    before = await counts(demo_database_url)
    for user in ("agent", "nobody"):
        resp = await demo_client.post(ORDERS, json=add_order(), headers=auth(user))
        await error_detail(resp, 403, 50)
    assert await counts(demo_database_url) == before


async def test_no_credentials_is_401(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    before = await counts(demo_database_url)
    resp = await demo_client.post(ORDERS, json=add_order())
    await error_detail(resp, 401, 40)
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    assert await counts(demo_database_url) == before


async def test_admin_holding_integrator_role_may_post(shared: Shared) -> None:
    demo_client, _ = shared
    resp = await demo_client.post(ORDERS, json=add_order(), headers=auth("admin"))
    assert resp.status == 201, await resp.json()


async def test_post_answer_echoes_request_with_stored_fields(shared: Shared) -> None:
    demo_client, _ = shared
    body = add_order()
    _first_item(body)["serviceOffering"] = {"id": OFFERING}
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    assert answer["href"] == f"{ORDERS}/{answer['id']}"
    assert answer["externalId"] == body["externalId"]
    assert answer["state"] == "new"
    spec = _first_item(answer)["service"]["serviceSpecification"]
    assert spec["internalId"] == FIREWALL_SPEC
    assert (spec["internalVersion"], spec["version"]) == ("2", "v2")
    got = await (
        await demo_client.get(f"{ORDERS}/{answer['id']}", headers=auth("integrator"))
    ).json()
    assert _first_item(got)["serviceOffering"] == {"id": OFFERING}


async def test_references_found_by_external_id(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = order_of(
        item(
            "change",
            inventory="PI-MFW-0001",
            spec="SPEC-MANAGED-FIREWALL",
            serviceOffering={"id": "OFF-MANAGED-FIREWALL"},
            place={"id": "LOC-FUNCO-HQ"},
        )
    )
    body["relatedParty"] = [
        {"id": "ACC-FUNCO-INTL", "@referredType": "Customer"},
        {"id": "CSM-FUNCO-EXTERNAL", "@referredType": "Consumer"},
        {"id": "CON-SALLY-THOMAS", "@referredType": "CustomerContact"},
    ]
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    order = await fetch(
        demo_database_url,
        "SELECT account, consumer, contact FROM service_order WHERE sys_id = $1",
        answer["id"],
    )
    assert order == [{"account": ACCOUNT, "consumer": CONSUMER, "contact": CONTACT}]
    line = await fetch(
        demo_database_url,
        "SELECT inventory, specification, service_offering, location, is_move "
        "FROM order_line_item WHERE order_id = $1",
        answer["id"],
    )
    assert line == [
        {
            "inventory": INV_ACTIVE,
            "specification": FIREWALL_SPEC,
            "service_offering": OFFERING,
            "location": "920cf6ac73d423002728660c4cf6a799",
            "is_move": False,
        }
    ]


@pytest.mark.parametrize(("place", "is_move"), [(BRANCH, True), (None, False)])
async def test_change_to_another_place_is_a_move(
    shared: Shared, place: str | None, is_move: bool
) -> None:
    demo_client, demo_database_url = shared
    extra = {"place": {"id": place, "@type": "Place"}} if place else {}
    body = order_of(item("change", inventory=INV_ACTIVE, **extra))
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == 201, answer
    line = await fetch(
        demo_database_url,
        "SELECT is_move, location FROM order_line_item WHERE order_id = $1",
        answer["id"],
    )
    assert line == [{"is_move": is_move, "location": place or "920cf6ac73d423002728660c4cf6a799"}]


@pytest.mark.parametrize(
    ("change", "datapath"),
    [
        pytest.param({"orderCurrency": "usd"}, "/orderCurrency", id="currency-not-ISO-4217"),
        pytest.param({"requestedStartDate": "soon"}, "/requestedStartDate", id="bad-date"),
    ],
)
async def test_bad_field_values_are_code_24(shared: Shared, change: Payload, datapath: str) -> None:
    demo_client, demo_database_url = shared
    before = await counts(demo_database_url)
    resp = await demo_client.post(
        ORDERS, json={**add_order(), **change}, headers=auth("integrator")
    )
    detail = await error_detail(resp, 400, 24)
    assert detail["datapath"] == datapath
    assert await counts(demo_database_url) == before


async def test_parent_cycle_is_refused(shared: Shared) -> None:
    demo_client, demo_database_url = shared
    body = order_of(
        item(
            "add",
            "1",
            spec=SDWAN_SPEC,
            orderRelationship=[{"id": "2", "relationshipType": "HasParent"}],
        ),
        item(
            "add",
            "2",
            spec=EDGE_SPEC,
            orderRelationship=[{"id": "1", "relationshipType": "HasParent"}],
        ),
    )
    before = await counts(demo_database_url)
    resp = await demo_client.post(ORDERS, json=body, headers=auth("integrator"))
    await error_detail(resp, 400, 24)
    assert await counts(demo_database_url) == before
