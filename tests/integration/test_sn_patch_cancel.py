"""PATCH /api/sn_tmf_api/order/serviceOrder/{id} and cancelserviceorder: rules and texts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from app.domain import messages as m
from tests.helpers.auth import auth
from tests.helpers.databases import execute, fetch, order_snapshot
from tests.helpers.error_objects import error_detail
from tests.helpers.in_process import shared_demo_client
from tests.helpers.payloads import (
    ACCOUNT,
    ALIAS,
    CANCEL,
    CANCEL_ALIAS,
    CONTACT,
    INV_ACTIVE,
    INV_INACTIVE,
    INV_SUSPENDED,
    LINK_SPEC,
    OFFERING,
    ORDER_COMPLETED,
    ORDER_IN_PROGRESS,
    ORDERS,
    UNKNOWN_ID,
    add_order,
    item,
    order_of,
    patch_body,
)

Payload = dict[str, Any]
Shared = tuple[TestClient, str]
INTEGRATOR = auth("integrator")


@pytest.fixture(scope="module")
async def shared(
    postgres_admin_url: str, demo_template_db: str, redis_url: str
) -> AsyncIterator[Shared]:
    """One demo database for refusals (each checks it changed nothing) and for tests that
    work on orders they post themselves."""
    async with shared_demo_client(postgres_admin_url, demo_template_db, redis_url) as pair:
        yield pair


async def _post(client: TestClient, body: Payload) -> str:
    resp = await client.post(ORDERS, json=body, headers=INTEGRATOR)
    answer = await resp.json()
    assert resp.status == 201, answer
    order_id: str = answer["id"]
    return order_id


def _first(body: Payload) -> Payload:
    first: Payload = body["serviceOrderItem"][0]
    return first


# --- PATCH refusals --------------------------------------------------------------------------


def _patch(change: Callable[[Payload], object]) -> Callable[[], Payload]:
    def build() -> Payload:
        body = patch_body()
        change(body)
        return body

    return build


def _parties(*kinds: tuple[str, str]) -> Callable[[Payload], None]:
    def change(body: Payload) -> None:
        body["relatedParty"] = [
            {"id": party_id, "@type": "RelatedParty", "@referredType": kind}
            for kind, party_id in kinds
        ]

    return change


def _second_item(action: str, inventory: str | None) -> Callable[[Payload], None]:
    return lambda body: body["serviceOrderItem"].append(item(action, "200", inventory=inventory))


def _set_spec_id(value: str | None) -> Callable[[Payload], None]:
    def change(body: Payload) -> None:
        spec = _first(body)["service"]["serviceSpecification"]
        if value is None:
            del spec["id"]
        else:
            spec["id"] = value

    return change


PATCH_ERRORS = [
    pytest.param(lambda: {}, 21, m.PATCH_REQUEST_BODY_MISSING, id="PATCH_REQUEST_BODY_MISSING"),
    pytest.param(
        _patch(lambda b: b.pop("serviceOrderItem")),
        23,
        m.PATCH_ITEM_MISSING,
        id="PATCH_ITEM_MISSING",
    ),
    pytest.param(
        _patch(lambda b: b.update(serviceOrderItem=[])),
        23,
        m.PATCH_ITEM_MISSING,
        id="PATCH_ITEM_MISSING-[]",
    ),
    pytest.param(
        _patch(lambda b: _first(b).pop("id")),
        23,
        m.PATCH_ITEM_ID_MISSING,
        id="PATCH_ITEM_ID_MISSING",
    ),
    pytest.param(
        _patch(lambda b: _first(b).pop("action")),
        23,
        m.PATCH_ITEM_ACTION_MISSING,
        id="PATCH_ITEM_ACTION_MISSING",
    ),
    pytest.param(
        _patch(lambda b: _first(b).update(serviceOffering={"name": "x"})),
        23,
        m.PATCH_SERVICE_OFFERING_ID_MISSING,
        id="PATCH_SERVICE_OFFERING_ID_MISSING",
    ),
    pytest.param(
        _patch(lambda b: _first(b).update(serviceOffering={"id": UNKNOWN_ID})),
        24,
        m.PATCH_SERVICE_OFFERING_NOT_FOUND,
        id="PATCH_SERVICE_OFFERING_NOT_FOUND",
    ),
    pytest.param(
        _patch(lambda b: _first(b).pop("service")),
        23,
        m.PATCH_ITEM_SERVICE_MISSING,
        id="PATCH_ITEM_SERVICE_MISSING",
    ),
    pytest.param(
        _patch(lambda b: _first(b)["service"].pop("serviceSpecification")),
        23,
        m.PATCH_SPECIFICATION_MISSING,
        id="PATCH_SPECIFICATION_MISSING",
    ),
    pytest.param(
        _patch(_set_spec_id(None)),
        23,
        m.PATCH_SPECIFICATION_ID_MISSING,
        id="PATCH_SPECIFICATION_ID_MISSING",
    ),
    pytest.param(
        _patch(_set_spec_id(UNKNOWN_ID)),
        24,
        m.PATCH_SPECIFICATION_NOT_FOUND,
        id="PATCH_SPECIFICATION_NOT_FOUND",
    ),
    pytest.param(
        _patch(_second_item("change", UNKNOWN_ID)),
        24,
        m.PATCH_SERVICE_INVENTORY_NOT_FOUND,
        id="PATCH_SERVICE_INVENTORY_NOT_FOUND",
    ),
    pytest.param(
        _patch(_second_item("delete", None)),
        23,
        m.PATCH_SERVICE_INVENTORY_ID_MISSING,
        id="PATCH_SERVICE_INVENTORY_ID_MISSING",
    ),
    pytest.param(
        _patch(_second_item("change", INV_INACTIVE)),
        24,
        m.PATCH_SOLD_SERVICE_INACTIVE,
        id="PATCH_SOLD_SERVICE_INACTIVE",
    ),
    pytest.param(
        _patch(lambda b: b.pop("relatedParty")),
        23,
        m.PATCH_RELATED_PARTY_MISSING,
        id="PATCH_RELATED_PARTY_MISSING",
    ),
    pytest.param(
        _patch(_parties(("CustomerContact", CONTACT))),
        23,
        m.PATCH_CUSTOMER_OR_CONSUMER_MISSING,
        id="PATCH_CUSTOMER_OR_CONSUMER_MISSING",
    ),
    pytest.param(
        _patch(_parties(("Customer", UNKNOWN_ID))),
        24,
        m.PATCH_CUSTOMER_ACCOUNT_NOT_FOUND,
        id="PATCH_CUSTOMER_ACCOUNT_NOT_FOUND",
    ),
    pytest.param(
        _patch(_parties(("Customer", ACCOUNT), ("Consumer", UNKNOWN_ID))),
        24,
        m.PATCH_CONSUMER_NOT_FOUND,
        id="PATCH_CONSUMER_NOT_FOUND",
    ),
    pytest.param(
        _patch(lambda b: b["serviceOrderItem"].append(dict(_first(b)))),
        24,
        m.PATCH_ORDER_CREATION_FAILED,
        id="PATCH_ORDER_CREATION_FAILED-duplicate-item-id",
    ),
    pytest.param(
        _patch(lambda b: b.update(orderCurrency="EUR")),
        62,
        m.PATCH_ORDER_CURRENCY_REVISION_NOT_SUPPORTED,
        id="PATCH_ORDER_CURRENCY_REVISION_NOT_SUPPORTED",
    ),
]


@pytest.mark.parametrize(("build", "code", "text"), PATCH_ERRORS)
async def test_patch_refusal_changes_nothing(
    shared: Shared, build: Callable[[], Payload], code: int, text: str
) -> None:
    client, url = shared
    before = await order_snapshot(url, ORDER_IN_PROGRESS)
    resp = await client.patch(f"{ORDERS}/{ORDER_IN_PROGRESS}", json=build(), headers=INTEGRATOR)
    detail = await error_detail(resp, 400, code)
    assert detail["message"] == text
    assert await order_snapshot(url, ORDER_IN_PROGRESS) == before


async def test_patch_empty_body(shared: Shared) -> None:
    client, url = shared
    before = await order_snapshot(url, ORDER_IN_PROGRESS)
    resp = await client.patch(
        f"{ORDERS}/{ORDER_IN_PROGRESS}",
        data=b"",
        headers={**INTEGRATOR, "Content-Type": "application/json"},
    )
    detail = await error_detail(resp, 400, 21)
    assert detail == {"message": m.PATCH_REQUEST_BODY_MISSING, "datapath": "/"}
    assert await order_snapshot(url, ORDER_IN_PROGRESS) == before


async def test_patch_unknown_order_is_404(shared: Shared) -> None:
    client, _ = shared
    resp = await client.patch(f"{ORDERS}/{UNKNOWN_ID}", json=patch_body(), headers=INTEGRATOR)
    await error_detail(resp, 404, 60)


async def test_patch_needs_integrator_role(shared: Shared) -> None:
    client, url = shared
    before = await order_snapshot(url, ORDER_IN_PROGRESS)
    path = f"{ORDERS}/{ORDER_IN_PROGRESS}"
    await error_detail(await client.patch(path, json=patch_body(), headers=auth("agent")), 403, 50)
    await error_detail(await client.patch(path, json=patch_body()), 401, 40)
    assert await order_snapshot(url, ORDER_IN_PROGRESS) == before


async def test_patch_dropping_service_offering_is_refused(shared: Shared) -> None:
    client, url = shared
    body = add_order()
    _first(body)["serviceOffering"] = {"id": OFFERING}
    order_id = await _post(client, body)
    before = await order_snapshot(url, order_id)
    del _first(body)["serviceOffering"]
    resp = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    detail = await error_detail(resp, 400, 23)
    assert detail["message"] == m.PATCH_ITEM_SERVICE_OFFERING_MISSING
    assert await order_snapshot(url, order_id) == before


async def test_patch_changing_currency_is_refused(shared: Shared) -> None:
    client, url = shared
    body = order_of(item("add", spec=LINK_SPEC), orderCurrency="USD")
    order_id = await _post(client, body)
    before = await order_snapshot(url, order_id)
    resp = await client.patch(
        f"{ORDERS}/{order_id}", json={**body, "orderCurrency": "EUR"}, headers=INTEGRATOR
    )
    detail = await error_detail(resp, 400, 62)
    assert detail == {
        "message": m.PATCH_ORDER_CURRENCY_REVISION_NOT_SUPPORTED,
        "datapath": "/orderCurrency",
    }
    assert await order_snapshot(url, order_id) == before
    same = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    assert same.status == 200, await same.json()
    rows = await fetch(url, "SELECT order_currency FROM service_order WHERE sys_id = $1", order_id)
    assert rows == [{"order_currency": "USD"}]


async def test_patch_other_fulfilment_type_is_refused(shared: Shared) -> None:
    client, url = shared
    body = order_of(item("add", spec=LINK_SPEC), fulfillmentType="provide")
    order_id = await _post(client, body)
    before = await order_snapshot(url, order_id)
    assert before["order"][0]["fulfillment_type"] == "provide"
    resp = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    detail = await error_detail(resp, 400, 62)
    assert detail["message"] == m.PATCH_FULFILLMENT_TYPE_NOT_DELIVER
    assert await order_snapshot(url, order_id) == before


@pytest.mark.parametrize("where", ["order", "item"])
async def test_patch_after_point_of_no_return_is_refused(shared: Shared, where: str) -> None:
    client, url = shared
    body = order_of(item("add", spec=LINK_SPEC))
    order_id = await _post(client, body)
    if where == "order":
        await execute(url, "UPDATE service_order SET ponr = true WHERE sys_id = $1", order_id)
    else:
        await execute(url, "UPDATE order_line_item SET ponr = true WHERE order_id = $1", order_id)
    before = await order_snapshot(url, order_id)
    resp = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    detail = await error_detail(resp, 400, 62)
    assert detail["message"] == m.ORDERHUB_POINT_OF_NO_RETURN
    assert await order_snapshot(url, order_id) == before


@pytest.mark.parametrize("state", ["completed", "cancelled"])
async def test_patch_on_closed_order_is_refused(shared: Shared, state: str) -> None:
    client, url = shared
    body = order_of(item("add", spec=LINK_SPEC))
    order_id = await _post(client, body)
    if state == "cancelled":
        resp = await client.post(
            CANCEL, json={"serviceOrder": {"id": order_id}}, headers=INTEGRATOR
        )
        assert resp.status == 200, await resp.json()
    else:
        await execute(url, "UPDATE service_order SET state = $2 WHERE sys_id = $1", order_id, state)
    before = await order_snapshot(url, order_id)
    resp = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    detail = await error_detail(resp, 400, 62)
    assert state in detail["message"]
    assert await order_snapshot(url, order_id) == before


@pytest.mark.parametrize(
    ("action", "inventory", "new_date"),
    [
        ("suspend", INV_ACTIVE, "2030-02-01T00:00:00Z"),
        ("resume", INV_SUSPENDED, "2030-02-01T00:00:00Z"),
        ("suspend", INV_ACTIVE, None),
    ],
)
async def test_patch_committed_due_date_of_hold_item_is_fixed(
    shared: Shared, action: str, inventory: str, new_date: str | None
) -> None:
    client, url = shared
    body = order_of(item(action, inventory=inventory, committedDueDate="2030-01-01T00:00:00Z"))
    order_id = await _post(client, body)
    before = await order_snapshot(url, order_id)
    changed = json.loads(json.dumps(body))
    if new_date is None:
        del _first(changed)["committedDueDate"]
    else:
        _first(changed)["committedDueDate"] = new_date
    resp = await client.patch(f"{ORDERS}/{order_id}", json=changed, headers=INTEGRATOR)
    detail = await error_detail(resp, 400, 62)
    assert detail["datapath"] == "/serviceOrderItem/0/committedDueDate"
    assert await order_snapshot(url, order_id) == before
    _first(body)["committedDueDate"] = "2030-01-01T00:00:00.000Z"  # same instant, other spelling
    same = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    assert same.status == 200, await same.json()


async def test_patch_order_committed_due_date_with_hold_items_is_refused(shared: Shared) -> None:
    client, url = shared
    body = order_of(item("suspend", inventory=INV_ACTIVE), committedDueDate="2030-01-01T00:00:00Z")
    order_id = await _post(client, body)
    before = await order_snapshot(url, order_id)
    resp = await client.patch(
        f"{ORDERS}/{order_id}",
        json={**body, "committedDueDate": "2030-03-01T00:00:00Z"},
        headers=INTEGRATOR,
    )
    detail = await error_detail(resp, 400, 62)
    assert detail["datapath"] == "/committedDueDate"
    assert await order_snapshot(url, order_id) == before


# --- accepted PATCH --------------------------------------------------------------------------


async def test_accepted_patch_records_revision(
    demo_client: TestClient, demo_database_url: str
) -> None:
    url = demo_database_url
    before = await order_snapshot(url, ORDER_IN_PROGRESS)
    old_item = {i["external_id"]: i for i in before["items"]}["100"]
    body = patch_body()
    body["priority"] = "2"
    body["serviceOrderItem"].append(item("change", "200", inventory=INV_ACTIVE))
    resp = await demo_client.patch(f"{ORDERS}/{ORDER_IN_PROGRESS}", json=body, headers=INTEGRATOR)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert answer["state"] == "revision_received"
    assert answer["id"] == ORDER_IN_PROGRESS
    assert answer["href"] == f"{ORDERS}/{ORDER_IN_PROGRESS}"
    assert answer["priority"] == "2"

    after = await order_snapshot(url, ORDER_IN_PROGRESS)
    order = after["order"][0]
    assert order["state"] == "revision_received"
    assert order["version"] == before["order"][0]["version"] + 1
    assert order["priority"] == "2"
    items = {i["external_id"]: i for i in after["items"]}
    assert set(items) == {"100", "200"}
    assert items["100"]["sys_id"] == old_item["sys_id"]
    assert items["100"]["state"] == "revision_received"
    assert items["100"]["version"] == old_item["version"] + 1
    assert items["200"]["state"] == "new"
    assert items["200"]["sys_id"] != old_item["sys_id"]

    revisions = await fetch(
        url,
        "SELECT version, author, changes FROM order_revision WHERE order_id = $1",
        ORDER_IN_PROGRESS,
    )
    assert len(revisions) == 1
    revision = revisions[0]
    assert revision["version"] == order["version"]
    assert revision["author"] == "integrator"
    changes = json.loads(revision["changes"])
    assert "priority" in changes["fields"]
    assert changes["itemsAdded"] == ["200"]

    got = await (await demo_client.get(f"{ORDERS}/{ORDER_IN_PROGRESS}", headers=INTEGRATOR)).json()
    assert got["version"] == str(order["version"])
    assert got["state"] == "revision_received"
    again = await demo_client.patch(f"{ALIAS}/{ORDER_IN_PROGRESS}", json=body, headers=INTEGRATOR)
    assert again.status == 200, await again.json()
    rows = await fetch(
        url, "SELECT version FROM service_order WHERE sys_id = $1", ORDER_IN_PROGRESS
    )
    assert rows == [{"version": order["version"] + 1}]


async def test_existing_external_product_inventory_is_ignored(shared: Shared) -> None:
    client, url = shared
    ext = [{"externalProductInventoryId": "EXT-1"}, {"externalProductInventoryId": "EXT-1"}]
    body = order_of(item("add", spec=LINK_SPEC, externalProductInventory=ext))
    order_id = await _post(client, body)
    _first(body)["externalProductInventory"] = [
        {"externalProductInventoryId": "EXT-1"},
        {"externalProductInventoryId": "EXT-2"},
    ]
    resp = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    assert resp.status == 200, await resp.json()
    rows = await fetch(
        url,
        "SELECT e.external_id FROM order_external_inventory e "
        "JOIN order_line_item i ON i.sys_id = e.line_item WHERE i.order_id = $1 "
        "ORDER BY e.external_id",
        order_id,
    )
    assert [r["external_id"] for r in rows] == ["EXT-1", "EXT-2"]


# --- cancel ----------------------------------------------------------------------------------


async def _cancel_state(url: str) -> Any:
    return await fetch(
        url,
        "SELECT (SELECT count(*) FROM order_cancellation) AS cancellations, "
        "(SELECT array_agg(state ORDER BY sys_id) FROM service_order) AS orders, "
        "(SELECT array_agg(state ORDER BY sys_id) FROM order_line_item) AS items",
    )


CANCEL_ERRORS = [
    pytest.param({}, 21, m.CANCEL_EMPTY_PAYLOAD, id="CANCEL_EMPTY_PAYLOAD-{}"),
    pytest.param(
        {"cancellationReason": "Duplicate order"},
        23,
        m.CANCEL_MANDATORY_FIELD_MISSING.format(field="serviceOrder"),
        id="CANCEL_MANDATORY_FIELD_MISSING-serviceOrder",
    ),
    pytest.param(
        {"serviceOrder": {"@referredType": "ServiceOrder"}},
        23,
        m.CANCEL_MANDATORY_FIELD_MISSING.format(field="serviceOrder.id"),
        id="CANCEL_MANDATORY_FIELD_MISSING-serviceOrder.id",
    ),
    pytest.param(
        {"serviceOrder": {"id": UNKNOWN_ID}},
        24,
        m.CANCEL_INVALID_ORDER_ID,
        id="CANCEL_INVALID_ORDER_ID",
    ),
    pytest.param(
        {"serviceOrder": {"id": ORDER_COMPLETED}},
        62,
        m.ORDERHUB_POINT_OF_NO_RETURN,
        id="ORDERHUB_POINT_OF_NO_RETURN-completed-example",
    ),
]


@pytest.mark.parametrize("path", [CANCEL, CANCEL_ALIAS])
@pytest.mark.parametrize(("payload", "code", "text"), CANCEL_ERRORS)
async def test_cancel_refusal_changes_nothing(
    shared: Shared, path: str, payload: Payload, code: int, text: str
) -> None:
    client, url = shared
    before = await _cancel_state(url)
    resp = await client.post(path, json=payload, headers=INTEGRATOR)
    detail = await error_detail(resp, 400, code)
    assert detail["message"] == text
    assert await _cancel_state(url) == before


async def test_cancel_empty_body(shared: Shared) -> None:
    client, url = shared
    before = await _cancel_state(url)
    resp = await client.post(
        CANCEL_ALIAS, data=b"", headers={**INTEGRATOR, "Content-Type": "application/json"}
    )
    detail = await error_detail(resp, 400, 21)
    assert detail["message"] == m.CANCEL_EMPTY_PAYLOAD
    assert await _cancel_state(url) == before


@pytest.mark.parametrize("where", ["order", "item"])
async def test_cancel_after_point_of_no_return_is_refused(shared: Shared, where: str) -> None:
    client, url = shared
    order_id = await _post(client, order_of(item("add", spec=LINK_SPEC)))
    table, key = (
        ("service_order", "sys_id") if where == "order" else ("order_line_item", "order_id")
    )
    await execute(url, f"UPDATE {table} SET ponr = true WHERE {key} = $1", order_id)
    before = await order_snapshot(url, order_id)
    resp = await client.post(CANCEL, json={"serviceOrder": {"id": order_id}}, headers=INTEGRATOR)
    detail = await error_detail(resp, 400, 62)
    assert detail["message"] == m.ORDERHUB_POINT_OF_NO_RETURN
    assert await order_snapshot(url, order_id) == before


async def test_cancel_completed_order_is_refused(shared: Shared) -> None:
    client, url = shared
    order_id = await _post(client, order_of(item("add", spec=LINK_SPEC)))
    await execute(url, "UPDATE service_order SET state = 'completed' WHERE sys_id = $1", order_id)
    before = await order_snapshot(url, order_id)
    resp = await client.post(CANCEL, json={"serviceOrder": {"id": order_id}}, headers=INTEGRATOR)
    await error_detail(resp, 400, 62)
    assert await order_snapshot(url, order_id) == before


@pytest.mark.parametrize("path", [CANCEL, CANCEL_ALIAS, f"{ALIAS}/cancelserviceorder"])
async def test_cancel_answers_done_and_cancels_order_and_items(shared: Shared, path: str) -> None:
    client, url = shared
    order_id = await _post(
        client, order_of(item("add", "1", spec=LINK_SPEC), item("add", "2", spec=LINK_SPEC))
    )
    request = {
        "cancellationReason": "Duplicate order",
        "requestedCancellationDate": "2023-01-24T11:56:21.931Z",
        "serviceOrder": {"id": order_id, "@referredType": "ServiceOrder"},
        "@type": "CancelServiceOrder",
    }
    resp = await client.post(path, json=request, headers=INTEGRATOR)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert answer == {**request, "id": order_id, "state": "done"}
    snapshot = await order_snapshot(url, order_id)
    assert snapshot["order"][0]["state"] == "cancelled"
    assert [i["state"] for i in snapshot["items"]] == ["cancelled", "cancelled"]
    rows = await fetch(
        url,
        "SELECT state, cancellation_reason, created_by FROM order_cancellation WHERE order_id = $1",
        order_id,
    )
    assert rows == [
        {"state": "done", "cancellation_reason": "Duplicate order", "created_by": "integrator"}
    ]
    got = await (await client.get(f"{ORDERS}/{order_id}", headers=INTEGRATOR)).json()
    assert got["state"] == "cancelled"
    assert {i["state"] for i in got["serviceOrderItem"]} == {"cancelled"}


async def test_cancel_twice_is_refused(shared: Shared) -> None:
    client, url = shared
    order_id = await _post(client, order_of(item("add", spec=LINK_SPEC)))
    request = {"serviceOrder": {"id": order_id, "@referredType": "ServiceOrder"}}
    first = await client.post(CANCEL, json=request, headers=INTEGRATOR)
    assert first.status == 200, await first.json()
    before = await order_snapshot(url, order_id)
    second = await client.post(CANCEL_ALIAS, json=request, headers=INTEGRATOR)
    detail = await error_detail(second, 400, 62)
    assert "cancelled" in detail["message"]
    assert await order_snapshot(url, order_id) == before


async def test_cancel_needs_integrator_role(shared: Shared) -> None:
    client, url = shared
    order_id = await _post(client, order_of(item("add", spec=LINK_SPEC)))
    before = await order_snapshot(url, order_id)
    request = {"serviceOrder": {"id": order_id}}
    await error_detail(await client.post(CANCEL, json=request, headers=auth("agent")), 403, 50)
    await error_detail(await client.post(CANCEL, json=request), 401, 40)
    assert await order_snapshot(url, order_id) == before


async def test_cancel_bad_requested_date_is_refused(shared: Shared) -> None:
    client, url = shared
    order_id = await _post(client, order_of(item("add", spec=LINK_SPEC)))
    before = await order_snapshot(url, order_id)
    resp = await client.post(
        CANCEL,
        json={"serviceOrder": {"id": order_id}, "requestedCancellationDate": "yesterday"},
        headers=INTEGRATOR,
    )
    detail = await error_detail(resp, 400, 24)
    assert detail["datapath"] == "/requestedCancellationDate"
    assert await order_snapshot(url, order_id) == before


async def test_patch_stores_work_notes_for_characteristics(shared: Shared) -> None:
    client, url = shared
    body = add_order()
    order_id = await _post(client, body)
    assert await fetch(url, "SELECT text FROM work_note WHERE order_id = $1", order_id) == []
    _first(body)["service"]["serviceCharacteristic"] = [
        {"name": "Colour", "value": "Red"},
        {"name": "CPE Type", "value": "Hologram"},
    ]
    resp = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    assert resp.status == 200, await resp.json()
    rows = await fetch(url, "SELECT text, author FROM work_note WHERE order_id = $1", order_id)
    assert {r["text"] for r in rows} == {
        m.WORK_NOTE_CHARACTERISTICS_NOT_EXIST.format(specification_name="Managed Firewall Service"),
        m.WORK_NOTE_CHARACTERISTIC_VALUE_INVALID.format(
            characteristic_name="CPE Type", characteristic_value="Hologram"
        ),
    }
    assert {r["author"] for r in rows} == {"integrator"}


async def test_patch_keeps_hierarchy_and_echoes_changed_characteristics(shared: Shared) -> None:
    client, url = shared
    body = order_of(
        item(
            "add",
            "1",
            spec="7374aef12c021c1e6bf47ddceec865c1",
            orderRelationship=[{"id": "2", "relationshipType": "HasChild"}],
        ),
        item("add", "2", spec="e845bb12b2a0176a0ec3820377163165"),
    )
    order_id = await _post(client, body)
    before = {i["external_id"]: i for i in (await order_snapshot(url, order_id))["items"]}
    _first(body)["service"]["serviceCharacteristic"] = [
        {"name": "Bandwidth", "value": "1 Gbps", "previousValue": "500 Mbps"},
        {"name": "Bandwidth", "value": "1 Gbps", "previousValue": "1 Gbps"},
    ]
    resp = await client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert _first(answer)["service"]["serviceCharacteristic"] == [
        {"name": "Bandwidth", "value": "1 Gbps", "previousValue": "500 Mbps"}
    ]
    after = {i["external_id"]: i for i in (await order_snapshot(url, order_id))["items"]}
    assert after["2"]["parent_line_item"] == before["1"]["sys_id"] == after["1"]["sys_id"]
    assert after["1"]["version"] == before["1"]["version"] + 1
    got = await (await client.get(f"{ORDERS}/{order_id}", headers=INTEGRATOR)).json()
    rels = {i["id"]: i.get("orderRelationship") for i in got["serviceOrderItem"]}
    assert rels == {
        "1": [{"id": "2", "relationshipType": "HasChild"}],
        "2": [{"id": "1", "relationshipType": "HasParent"}],
    }


@pytest.mark.parametrize("state", ["in_progress", "revision_received", "error"])
async def test_cancel_allowed_from_open_states(shared: Shared, state: str) -> None:
    client, url = shared
    order_id = await _post(client, order_of(item("add", spec=LINK_SPEC)))
    await execute(url, "UPDATE service_order SET state = $2 WHERE sys_id = $1", order_id, state)
    resp = await client.post(CANCEL, json={"serviceOrder": {"id": order_id}}, headers=INTEGRATOR)
    answer = await resp.json()
    assert resp.status == 200, answer
    assert answer["state"] == "done"
    rows = await fetch(url, "SELECT state FROM service_order WHERE sys_id = $1", order_id)
    assert rows == [{"state": "cancelled"}]


async def test_concurrent_cancels_cancel_once(shared: Shared) -> None:
    client, url = shared
    order_id = await _post(client, order_of(item("add", spec=LINK_SPEC)))
    request = {"serviceOrder": {"id": order_id}}
    answers = await asyncio.gather(
        *(client.post(CANCEL, json=request, headers=INTEGRATOR) for _ in range(4))
    )
    assert sorted(r.status for r in answers) == [200, 400, 400, 400]
    rows = await fetch(
        url, "SELECT count(*) AS n FROM order_cancellation WHERE order_id = $1", order_id
    )
    assert rows == [{"n": 1}]


async def test_concurrent_patches_each_get_a_version(shared: Shared) -> None:
    client, url = shared
    body = order_of(item("add", spec=LINK_SPEC))
    order_id = await _post(client, body)
    answers = await asyncio.gather(
        *(client.patch(f"{ORDERS}/{order_id}", json=body, headers=INTEGRATOR) for _ in range(4))
    )
    assert [r.status for r in answers] == [200] * 4
    rows = await fetch(
        url, "SELECT version FROM order_revision WHERE order_id = $1 ORDER BY version", order_id
    )
    assert [r["version"] for r in rows] == [2, 3, 4, 5]
    order = await fetch(url, "SELECT version FROM service_order WHERE sys_id = $1", order_id)
    assert order == [{"version": 5}]
