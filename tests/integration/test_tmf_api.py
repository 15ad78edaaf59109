"""The standard TMF641 v4.1.0 API (/tmf-api/serviceOrdering/v4) over the demo catalogue."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from yarl import URL

from app.store import orders as orders_store
from tests.helpers.auth import auth
from tests.helpers.payloads import TMF_CANCELS as CANCELS
from tests.helpers.payloads import TMF_ORDERS as ORDERS
from tests.helpers.payloads import sn_add_order, tmf_add_order

SN_ORDERS = "/api/sn_tmf_api/order/serviceOrder"
SN_CANCEL = "/api/sn_tmf_api/cancelserviceorder"
USER = auth("integrator")

# Records of app/demo/catalog.json.
HQ = "920cf6ac73d423002728660c4cf6a799"
BRANCH = "5671dd2ec3a53010188473ce3640dd81"
FIREWALL_SPEC = "f99546ff07266010a7955b7e0ad300a8"
INV_ACTIVE = "4b5072aec3a83010abc8b5183c40dd42"
ORDER_NEW = "4f2af65ac3a030106e2473ce3640ddcf"
ORDER_IN_PROGRESS = "a831e56e77602110c8b3a4d54b5a9954"
ORDER_COMPLETED = "bd30366ec3a83010abc8b5183c40dd92"
UNKNOWN_ID = "0123456789abcdef0123456789abcdef"


def simple_item(item_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "action": "add",
        "service": {"serviceSpecification": {"id": FIREWALL_SPEC}},
        **extra,
    }


async def ok(resp: ClientResponse, status: int = 200) -> Any:
    body = await resp.json()
    assert resp.status == status, body
    return body


async def error(resp: ClientResponse, status: int, code: str) -> dict[str, Any]:
    """The error object with a string `code`, as TMF630 says; returns details[0]."""
    body = await resp.json()
    assert resp.status == status, body
    assert resp.content_type == "application/json"
    assert body["code"] == code, body
    assert body["reason"] and body["message"] == body["reason"]
    detail: dict[str, Any] = body["details"][0]
    assert set(detail) == {"message", "datapath"}
    return detail


async def create(client: TestClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    created: dict[str, Any] = await ok(
        await client.post(ORDERS, json=body or tmf_add_order(), headers=USER), 201
    )
    return created


async def rows(url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(url)
    try:
        return [dict(r) for r in await conn.fetch(sql, *args)]
    finally:
        await conn.close()


def without(item: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in keys}


def absolute(client: TestClient, path: str) -> str:
    """The href of `path` when no ORDERHUB_PUBLIC_URL is set: this client's scheme and host."""
    return str(client.make_url(path))


def path_of(href: str) -> str:
    """An absolute href as the test client takes it."""
    return URL(href).path_qs


# --- serviceOrder: create and read ------------------------------------------------------------


async def test_post_answers_201_with_the_v4_shape(demo_client: TestClient) -> None:
    resp = await demo_client.post(ORDERS, json=tmf_add_order(), headers=USER)
    body = await ok(resp, 201)
    order_id = body["id"]
    assert body["href"] == absolute(demo_client, f"{ORDERS}/{order_id}")
    assert resp.headers["Location"] == body["href"]
    assert body["@type"] == "ServiceOrder"
    assert body["state"] == "acknowledged"
    assert body["ponr"] is False
    assert body["orderDate"].endswith("Z") and len(body["orderDate"]) == 24
    assert body["requestedStartDate"] == "2018-01-15T09:37:40.508Z"
    assert {p["@referredType"] for p in body["relatedParty"]} == {
        "Customer",
        "CustomerContact",
        "Consumer",
    }
    item = body["serviceOrderItem"][0]
    assert item["ponr"] is False and item["state"] == "acknowledged" and item["action"] == "add"
    assert item["@type"] == "ServiceOrderItem"
    assert "place" not in item
    assert item["service"]["place"] == [{"id": HQ, "role": "serviceSite", "@referredType": "Place"}]
    assert item["service"]["@type"] == "Service"
    assert item["service"]["serviceSpecification"]["id"] == FIREWALL_SPEC
    assert item["service"]["serviceSpecification"]["@type"] == "ServiceSpecificationRef"
    names = {c["name"] for c in item["service"]["serviceCharacteristic"]}
    assert "Firewall Security" in names

    got = await ok(await demo_client.get(f"{ORDERS}/{order_id}", headers=USER))
    assert got == body


async def test_order_created_on_one_flavour_reads_on_the_other(demo_client: TestClient) -> None:
    sn = await ok(await demo_client.post(SN_ORDERS, json=sn_add_order(), headers=USER), 201)
    tmf = await ok(await demo_client.get(f"{ORDERS}/{sn['id']}", headers=USER))
    assert tmf["id"] == sn["id"] and tmf["externalId"] == sn["externalId"]
    assert tmf["href"] == absolute(demo_client, f"{ORDERS}/{sn['id']}") and tmf["ponr"] is False
    assert (sn["state"], tmf["state"]) == ("new", "acknowledged")

    created = await create(demo_client)
    on_sn = await ok(await demo_client.get(f"{SN_ORDERS}/{created['id']}", headers=USER))
    assert on_sn["href"] == f"{SN_ORDERS}/{created['id']}"
    assert on_sn["ponr"] == "false"
    assert on_sn["serviceOrderItem"][0]["place"]["id"] == HQ
    assert on_sn["externalId"] == created["externalId"]
    assert (
        on_sn["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
        == (created["serviceOrderItem"][0]["service"]["serviceCharacteristic"])
    )


async def test_post_retries_replay_the_first_answer(
    demo_client: TestClient, demo_database_url: str
) -> None:
    """CONTRACT.md's retry rules hold on this flavour too, with answers of its own shape."""
    body = tmf_add_order()
    first = await demo_client.post(ORDERS, json=body, headers=USER)
    created = await ok(first, 201)
    again = await demo_client.post(ORDERS, json=body, headers=USER)
    assert await ok(again, 201) == created
    assert again.headers["Location"] == first.headers["Location"]
    count = "SELECT count(*) AS n FROM service_order WHERE external_id = $1"
    assert (await rows(demo_database_url, count, body["externalId"]))[0]["n"] == 1

    keyed = {**USER, "Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    keyed_body = tmf_add_order()
    one = await ok(await demo_client.post(ORDERS, json=keyed_body, headers=keyed), 201)
    assert await ok(await demo_client.post(ORDERS, json=keyed_body, headers=keyed), 201) == one
    await error(await demo_client.post(ORDERS, json=tmf_add_order(), headers=keyed), 422, "63")

    # The same body on the other flavour is not a retry of this one: its answer has another shape.
    sn = await ok(await demo_client.post(SN_ORDERS, json=body, headers=USER), 201)
    assert sn["id"] != created["id"]


async def test_post_reads_v4_actions_and_item_relationships(
    demo_client: TestClient, demo_database_url: str
) -> None:
    body = tmf_add_order()
    body["serviceOrderItem"] = [
        simple_item(
            "1",
            serviceOrderItemRelationship=[
                {"relationshipType": "HasChild", "orderItem": {"itemId": "2"}}
            ],
        ),
        simple_item(
            "2",
            # By `id`, which v4.1.0's ServiceOrderItemRef requires, rather than `itemId`.
            serviceOrderItemRelationship=[
                {"relationshipType": "HasParent", "orderItem": {"id": "1"}}
            ],
        ),
        {"id": "3", "action": "modify", "service": {"id": INV_ACTIVE}},
    ]
    created = await create(demo_client, body)
    parent, child, change = created["serviceOrderItem"]
    assert parent["serviceOrderItemRelationship"] == [
        {
            "relationshipType": "HasChild",
            "orderItem": {
                "id": "2",
                "itemId": "2",
                "serviceOrderId": created["id"],
                "serviceOrderHref": created["href"],
                "@referredType": "ServiceOrderItem",
            },
        }
    ]
    assert child["serviceOrderItemRelationship"][0]["relationshipType"] == "HasParent"
    assert change["action"] == "modify"
    assert change["service"]["id"] == INV_ACTIVE
    stored = await rows(
        demo_database_url,
        "SELECT external_id, action FROM order_line_item WHERE order_id = $1 ORDER BY position",
        created["id"],
    )
    assert [(r["external_id"], r["action"]) for r in stored] == [
        ("1", "add"),
        ("2", "add"),
        ("3", "change"),
    ]
    on_sn = await ok(await demo_client.get(f"{SN_ORDERS}/{created['id']}", headers=USER))
    assert on_sn["serviceOrderItem"][1]["orderRelationship"] == [
        {"id": "1", "relationshipType": "HasParent"}
    ]
    assert on_sn["serviceOrderItem"][2]["action"] == "change"


async def test_post_refusals_share_the_domain_rules(demo_client: TestClient) -> None:
    detail = await error(await demo_client.post(ORDERS, data=b"", headers=USER), 400, "21")
    assert detail["message"] == "Invalid payload: Request body missing."
    body = tmf_add_order()
    del body["serviceOrderItem"]
    detail = await error(await demo_client.post(ORDERS, json=body, headers=USER), 400, "23")
    assert detail["message"] == "Invalid payload: serviceOrderItem missing."
    body = tmf_add_order()
    body["serviceOrderItem"][0]["service"]["serviceSpecification"]["id"] = UNKNOWN_ID
    await error(await demo_client.post(ORDERS, json=body, headers=USER), 400, "24")


async def test_get_unknown_id_is_404_and_fields_project(demo_client: TestClient) -> None:
    detail = await error(await demo_client.get(f"{ORDERS}/{UNKNOWN_ID}", headers=USER), 404, "60")
    assert UNKNOWN_ID in detail["message"]
    got = await ok(
        await demo_client.get(f"{ORDERS}/{ORDER_NEW}?fields=state,externalId", headers=USER)
    )
    href = absolute(demo_client, f"{ORDERS}/{ORDER_NEW}")
    assert got == {"id": ORDER_NEW, "href": href, "state": "acknowledged"}


async def test_credentials_roles_and_accept(demo_client: TestClient) -> None:
    await error(await demo_client.get(ORDERS), 401, "40")
    await error(await demo_client.get(ORDERS, headers=auth("agent")), 403, "50")
    await error(await demo_client.delete(f"{ORDERS}/{ORDER_NEW}", headers=auth("agent")), 403, "50")
    await error(await demo_client.get(ORDERS, headers={**USER, "Accept": "text/html"}), 406, "66")


# --- serviceOrder: lists ----------------------------------------------------------------------


async def _tagged(client: TestClient, count: int) -> tuple[str, list[dict[str, Any]]]:
    """`count` new orders sharing a category no other order has."""
    category = f"cat-{uuid.uuid4().hex[:8]}"
    made = [await create(client, tmf_add_order(category=category)) for _ in range(count)]
    return category, made


async def _list(client: TestClient, query: str, status: int = 200) -> tuple[Any, ClientResponse]:
    resp = await client.get(f"{ORDERS}?{query}", headers=USER)
    return await ok(resp, status), resp


async def test_list_paging_counts_and_statuses(demo_client: TestClient) -> None:
    category, made = await _tagged(demo_client, 3)
    newest_first = [o["id"] for o in reversed(made)]

    body, resp = await _list(demo_client, f"category={category}")
    assert [o["id"] for o in body] == newest_first
    assert resp.headers["X-Total-Count"] == "3" and resp.headers["X-Result-Count"] == "3"
    assert body[0]["ponr"] is False
    assert body[0]["href"] == absolute(demo_client, f"{ORDERS}/{body[0]['id']}")

    body, resp = await _list(demo_client, f"category={category}&limit=2", 206)
    assert [o["id"] for o in body] == newest_first[:2]
    assert resp.headers["X-Total-Count"] == "3" and resp.headers["X-Result-Count"] == "2"

    body, resp = await _list(demo_client, f"category={category}&offset=2&limit=2", 206)
    assert [o["id"] for o in body] == newest_first[2:]
    assert resp.headers["X-Result-Count"] == "1"

    body, resp = await _list(demo_client, f"category={category}&limit=3")
    assert len(body) == 3

    body, resp = await _list(demo_client, f"category={category}&offset=5", 206)
    assert body == [] and resp.headers["X-Total-Count"] == "3"

    body, resp = await _list(demo_client, f"category={category}&limit=1000")
    assert len(body) == 3


async def test_list_default_limit_is_20(demo_client: TestClient) -> None:
    category, _ = await _tagged(demo_client, 21)
    body, resp = await _list(demo_client, f"category={category}", 206)
    assert len(body) == 20
    assert resp.headers["X-Total-Count"] == "21" and resp.headers["X-Result-Count"] == "20"


async def test_list_nothing_matching_is_an_empty_200(demo_client: TestClient) -> None:
    body, resp = await _list(demo_client, f"externalId=nothing-{uuid.uuid4().hex}")
    assert body == []
    assert resp.headers["X-Total-Count"] == "0" and resp.headers["X-Result-Count"] == "0"


async def test_list_filters_quoted_and_unquoted(demo_client: TestClient) -> None:
    category, made = await _tagged(demo_client, 2)
    first, second = made
    await ok(
        await demo_client.patch(f"{ORDERS}/{second['id']}", json={"priority": "7"}, headers=USER)
    )
    ids = {first["id"], second["id"]}

    for query in (
        f"category={category}",
        f'category="{category}"',
        f"category='{category}'",
        f"category={category}&state=acknowledged,inProgress",
        f"category={category}&externalId={first['externalId']},{second['externalId']}",
    ):
        body, _ = await _list(demo_client, query)
        assert {o["id"] for o in body} == ids, query

    for query, expected in (
        (f"category={category}&state=acknowledged", {first["id"]}),
        (f'category={category}&state="inProgress"', {second["id"]}),
        (f"category={category}&priority=7", {second["id"]}),
        (f'id="{first["id"]}"', {first["id"]}),
        (f"externalId={second['externalId']}", {second["id"]}),
        (f"category={category}&orderDate={first['orderDate']}", {first["id"]}),
        (f'category={category}&orderDate="{second["orderDate"]}"', {second["id"]}),
        (f"category={category}&orderDate.gt={first['orderDate']}", {second["id"]}),
        (f"category={category}&orderDate.lte={first['orderDate']}", {first["id"]}),
        (f"category={category}&ponr=false", ids),
        (f"category={category}&state=completed", set()),
    ):
        body, resp = await _list(demo_client, query)
        assert {o["id"] for o in body} == expected, query
        assert resp.headers["X-Total-Count"] == str(len(expected))


async def test_list_fields_projection(demo_client: TestClient) -> None:
    category, _ = await _tagged(demo_client, 1)
    body, _ = await _list(demo_client, f"category={category}&fields=state, externalId")
    assert set(body[0]) == {"id", "href", "state", "externalId"}
    body, _ = await _list(demo_client, f"category={category}&fields=id")
    assert set(body[0]) == {"id", "href"}


@pytest.mark.parametrize(
    "query",
    [
        "limit=abc",
        "limit=0",
        "limit=-1",
        "offset=-1",
        "offset=x",
        "unknownAttribute=1",
        "state.gt=acknowledged",
        "state=new",
        "state=in_progress",
        "state=acknowledged,revision_received",
        "orderDate=yesterday",
        "orderDate.gte=a,b",
        "ponr=maybe",
    ],
)
async def test_list_bad_query_values_are_400_code_28(demo_client: TestClient, query: str) -> None:
    detail = await error(await demo_client.get(f"{ORDERS}?{query}", headers=USER), 400, "28")
    assert detail["datapath"].startswith("?")


async def test_list_loads_a_page_through_orders_load_once(
    demo_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    category, _ = await _tagged(demo_client, 3)
    calls: list[list[str]] = []
    real_load = orders_store.load

    async def counting(conn: Any, order_ids: list[str]) -> Any:
        calls.append(list(order_ids))
        return await real_load(conn, order_ids)

    monkeypatch.setattr(orders_store, "load", counting)
    body, _ = await _list(demo_client, f"category={category}")
    assert len(body) == 3
    assert len(calls) == 1 and len(calls[0]) == 3


# --- serviceOrder: PATCH ----------------------------------------------------------------------


async def test_patch_changes_only_what_it_names(demo_client: TestClient) -> None:
    created = await create(demo_client)
    order_id = created["id"]
    resp = await demo_client.patch(
        f"{ORDERS}/{order_id}",
        data=json.dumps({"description": "Revised", "priority": "2"}),
        headers={**USER, "Content-Type": "application/merge-patch+json"},
    )
    patched = await ok(resp)
    assert patched["state"] == "inProgress"
    assert patched["version"] == "2"
    assert patched["description"] == "Revised" and patched["priority"] == "2"
    for key in ("externalId", "requestedStartDate", "requestedCompletionDate", "relatedParty"):
        assert patched[key] == created[key], key
    assert [n["text"] for n in patched["note"]] == [n["text"] for n in created["note"]]
    before, after = created["serviceOrderItem"][0], patched["serviceOrderItem"][0]
    assert without(after, "state", "version", "relatedParty") == without(
        before, "state", "version", "relatedParty"
    )
    assert [without(c, "id") for c in after["relatedParty"]] == [
        without(c, "id") for c in before["relatedParty"]
    ]
    assert await ok(await demo_client.get(f"{ORDERS}/{order_id}", headers=USER)) == patched
    on_sn = await ok(await demo_client.get(f"{SN_ORDERS}/{order_id}", headers=USER))
    assert on_sn["description"] == "Revised" and on_sn["version"] == "2"


async def test_patch_merges_items_and_characteristics(demo_client: TestClient) -> None:
    created = await create(demo_client)
    order_id = created["id"]
    patch = {
        "serviceOrderItem": [
            {
                "id": "100",
                "quantity": 3,
                "service": {
                    "serviceCharacteristic": [{"name": "Firewall Security", "value": "Basic"}],
                    "place": [{"id": BRANCH, "role": "serviceSite"}],
                },
            },
            simple_item("200"),
        ]
    }
    patched = await ok(await demo_client.patch(f"{ORDERS}/{order_id}", json=patch, headers=USER))
    first, added = patched["serviceOrderItem"]
    assert first["quantity"] == 3
    assert first["actionReason"] == created["serviceOrderItem"][0]["actionReason"]
    assert first["service"]["place"][0]["id"] == BRANCH
    chars = {c["name"]: c["value"] for c in first["service"]["serviceCharacteristic"]}
    before = {
        c["name"]: c["value"]
        for c in created["serviceOrderItem"][0]["service"]["serviceCharacteristic"]
    }
    assert chars == {**before, "Firewall Security": "Basic"}
    assert (
        first["service"]["serviceSpecification"]
        == (created["serviceOrderItem"][0]["service"]["serviceSpecification"])
    )
    assert (
        first["service"]["serviceRelationship"]
        == (created["serviceOrderItem"][0]["service"]["serviceRelationship"])
    )
    assert added["id"] == "200" and added["state"] == "acknowledged"
    assert first["state"] == "inProgress"


async def test_patch_may_name_the_state_it_shows(demo_client: TestClient) -> None:
    """A client sending back what it read: the state as this flavour shows it."""
    created = await create(demo_client)
    patch = {"state": created["state"], "priority": "3"}
    patched = await ok(
        await demo_client.patch(f"{ORDERS}/{created['id']}", json=patch, headers=USER)
    )
    assert (created["state"], patched["state"]) == ("acknowledged", "inProgress")


async def test_patch_refusals(demo_client: TestClient, demo_database_url: str) -> None:
    created = await create(demo_client)
    path = f"{ORDERS}/{created['id']}"
    await error(await demo_client.patch(path, json={}, headers=USER), 400, "21")
    json_type = {**USER, "Content-Type": "application/json"}
    await error(await demo_client.patch(path, data=b"[1]", headers=json_type), 400, "22")
    detail = await error(
        await demo_client.patch(path, json={"orderDate": "2020-01-01T00:00:00Z"}, headers=USER),
        400,
        "24",
    )
    assert detail["datapath"] == "/orderDate"
    await error(await demo_client.patch(path, json={"state": "completed"}, headers=USER), 400, "24")
    # The current state is the one this flavour shows, not OrderHub's own name for it.
    await error(await demo_client.patch(path, json={"state": "new"}, headers=USER), 400, "24")
    await error(
        await demo_client.patch(f"{ORDERS}/{UNKNOWN_ID}", json={"priority": "1"}, headers=USER),
        404,
        "60",
    )
    await error(
        await demo_client.patch(
            f"{ORDERS}/{ORDER_COMPLETED}", json={"priority": "1"}, headers=USER
        ),
        400,
        "62",
    )
    versions = await rows(
        demo_database_url, "SELECT version FROM service_order WHERE sys_id = $1", created["id"]
    )
    assert versions == [{"version": 1}]


# --- serviceOrder: DELETE ---------------------------------------------------------------------


async def test_delete_a_new_order(demo_client: TestClient, demo_database_url: str) -> None:
    body = tmf_add_order()
    body["serviceOrderItem"].append(
        simple_item(
            "101",
            serviceOrderItemRelationship=[
                {"relationshipType": "HasParent", "orderItem": {"itemId": "100"}}
            ],
        )
    )
    created = await create(demo_client, body)
    resp = await demo_client.delete(f"{ORDERS}/{created['id']}", headers=USER)
    assert resp.status == 204, await resp.text()
    await error(await demo_client.get(f"{ORDERS}/{created['id']}", headers=USER), 404, "60")
    await error(await demo_client.get(f"{SN_ORDERS}/{created['id']}", headers=USER), 404, 60)
    left = await rows(
        demo_database_url,
        "SELECT (SELECT count(*) FROM order_line_item WHERE order_id = $1) AS items,"
        " (SELECT count(*) FROM order_related_party WHERE order_id = $1) AS parties,"
        " (SELECT count(*) FROM work_note WHERE order_id = $1) AS notes",
        created["id"],
    )
    assert left == [{"items": 0, "parties": 0, "notes": 0}]
    await error(await demo_client.delete(f"{ORDERS}/{created['id']}", headers=USER), 404, "60")


@pytest.mark.parametrize("order_id", [ORDER_IN_PROGRESS, ORDER_COMPLETED])
async def test_delete_refused_outside_state_new(demo_client: TestClient, order_id: str) -> None:
    detail = await error(await demo_client.delete(f"{ORDERS}/{order_id}", headers=USER), 400, "62")
    assert detail["datapath"] == "/state"
    await ok(await demo_client.get(f"{ORDERS}/{order_id}", headers=USER))


async def test_delete_refused_after_revision_or_cancel(demo_client: TestClient) -> None:
    revised = await create(demo_client)
    await ok(
        await demo_client.patch(f"{ORDERS}/{revised['id']}", json={"priority": "1"}, headers=USER)
    )
    await error(await demo_client.delete(f"{ORDERS}/{revised['id']}", headers=USER), 400, "62")
    cancelled = await create(demo_client)
    await ok(
        await demo_client.post(
            CANCELS, json={"serviceOrder": {"id": cancelled["id"]}}, headers=USER
        ),
        201,
    )
    await error(await demo_client.delete(f"{ORDERS}/{cancelled['id']}", headers=USER), 400, "62")


# --- cancelServiceOrder -----------------------------------------------------------------------


async def test_cancel_service_order_resource(
    demo_client: TestClient, demo_database_url: str
) -> None:
    created = await create(demo_client)
    request = {
        "cancellationReason": "Duplicate order",
        "requestedCancellationDate": "2023-01-24T11:56:21.931Z",
        "serviceOrder": {"id": created["id"], "@referredType": "ServiceOrder"},
        "@type": "CancelServiceOrder",
    }
    resp = await demo_client.post(CANCELS, json=request, headers=USER)
    body = await ok(resp, 201)
    stored = await rows(
        demo_database_url,
        "SELECT sys_id FROM order_cancellation WHERE order_id = $1",
        created["id"],
    )
    assert [r["sys_id"] for r in stored] == [body["id"]]
    assert body["id"] != created["id"]
    assert body["href"] == absolute(demo_client, f"{CANCELS}/{body['id']}")
    assert resp.headers["Location"] == body["href"]
    assert body["state"] == "done" and body["@type"] == "CancelServiceOrder"
    assert body["cancellationReason"] == "Duplicate order"
    assert body["requestedCancellationDate"] == "2023-01-24T11:56:21.931Z"
    assert body["effectiveCancellationDate"].endswith("Z")
    assert body["serviceOrder"] == {
        "id": created["id"],
        "href": created["href"],
        "@referredType": "ServiceOrder",
    }
    assert await ok(await demo_client.get(path_of(body["href"]), headers=USER)) == body
    order = await ok(await demo_client.get(path_of(created["href"]), headers=USER))
    assert order["state"] == "cancelled"
    assert order["cancellationReason"] == "Duplicate order"
    assert order["cancellationDate"] == body["effectiveCancellationDate"]
    on_sn = await ok(await demo_client.get(f"{SN_ORDERS}/{created['id']}", headers=USER))
    assert on_sn["state"] == "cancelled"

    again = await demo_client.post(CANCELS, json=request, headers=USER)
    await error(again, 400, "62")


async def test_cancel_refusals(demo_client: TestClient) -> None:
    detail = await error(await demo_client.post(CANCELS, data=b"", headers=USER), 400, "21")
    assert detail["message"] == "Empty payload."
    detail = await error(
        await demo_client.post(CANCELS, json={"cancellationReason": "x"}, headers=USER), 400, "23"
    )
    assert detail["message"] == "Invalid payload. Mandatory field missing: serviceOrder."
    detail = await error(
        await demo_client.post(CANCELS, json={"serviceOrder": {"id": UNKNOWN_ID}}, headers=USER),
        400,
        "24",
    )
    assert detail["message"] == "Invalid order ID."
    await error(
        await demo_client.post(
            CANCELS, json={"serviceOrder": {"id": ORDER_COMPLETED}}, headers=USER
        ),
        400,
        "62",
    )


async def test_cancel_list_and_get(demo_client: TestClient) -> None:
    reason = f"reason-{uuid.uuid4().hex[:8]}"
    first, second = await create(demo_client), await create(demo_client)
    mine = await ok(
        await demo_client.post(
            CANCELS,
            json={"serviceOrder": {"id": first["id"]}, "cancellationReason": reason},
            headers=USER,
        ),
        201,
    )
    # A cancel on the ServiceNow flavour is a CancelServiceOrder resource too.
    await ok(
        await demo_client.post(
            SN_CANCEL,
            json={"serviceOrder": {"id": second["id"]}, "cancellationReason": reason},
            headers=USER,
        )
    )
    resp = await demo_client.get(f'{CANCELS}?cancellationReason="{reason}"', headers=USER)
    body = await ok(resp)
    assert [c["serviceOrder"]["id"] for c in body] == [second["id"], first["id"]]
    assert resp.headers["X-Total-Count"] == "2" and resp.headers["X-Result-Count"] == "2"

    resp = await demo_client.get(f"{CANCELS}?cancellationReason={reason}&limit=1", headers=USER)
    assert len(await ok(resp, 206)) == 1
    assert resp.headers["X-Total-Count"] == "2" and resp.headers["X-Result-Count"] == "1"

    resp = await demo_client.get(
        f"{CANCELS}?serviceOrder.id={first['id']}&state=done&fields=state", headers=USER
    )
    assert await ok(resp) == [{"id": mine["id"], "href": mine["href"], "state": "done"}]

    resp = await demo_client.get(f"{CANCELS}?serviceOrder.id={UNKNOWN_ID}", headers=USER)
    assert await ok(resp) == [] and resp.headers["X-Total-Count"] == "0"

    await error(await demo_client.get(f"{CANCELS}?limit=x", headers=USER), 400, "28")
    await error(await demo_client.get(f"{CANCELS}?bogus=1", headers=USER), 400, "28")
    await error(await demo_client.get(f"{CANCELS}/{UNKNOWN_ID}", headers=USER), 404, "60")
    got = await ok(
        await demo_client.get(f"{path_of(mine['href'])}?fields=cancellationReason", headers=USER)
    )
    assert got == {"id": mine["id"], "href": mine["href"], "cancellationReason": reason}


async def test_request_is_not_changed_by_translation(demo_client: TestClient) -> None:
    """A v4 body is read, not modified in place: the same body posts twice."""
    body = tmf_add_order()
    snapshot = copy.deepcopy(body)
    await create(demo_client, body)
    assert body == snapshot
