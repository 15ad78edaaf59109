"""POST .../serviceOrder/outboundresponse in-process, on the demo data (the seed's example
outbound request FO0001000) and on orders sent for fulfilment here."""

from __future__ import annotations

import copy
import json
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from app.domain import messages as m
from tests.helpers.auth import auth
from tests.helpers.databases import fetch
from tests.helpers.error_objects import error_detail
from tests.helpers.payloads import (
    CANCEL,
    EDGE_SPEC,
    LINK_SPEC,
    ORDER_IN_PROGRESS,
    ORDERS,
    example,
    item,
    order_of,
    sdwan_hierarchy,
)

PATH = "/api/sn_tmf_api/order/serviceOrder/outboundresponse"
ALIAS_PATH = "/api/sn_tmf_api/serviceorder/outboundresponse"
REQUEST_ID = "607017d243322110461f99612bb8f25c"
DOMAIN_ORDER = "19913c3577b301108e191e599a5a9988"
NUMBER = "FO0001000"

# Every table a callback may write, whole, in a stable order.
TABLES = {
    "outbound_request": "number",
    "domain_order": "sys_id",
    "service_order": "sys_id",
    "order_line_item": "sys_id",
    "work_note": "id",
    "product_inventory": "sys_id",
}


async def snapshot(url: str) -> dict[str, list[dict[str, Any]]]:
    conn = await asyncpg.connect(url)
    try:
        return {
            table: [dict(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY {key}")]
            for table, key in TABLES.items()
        }
    finally:
        await conn.close()


def body(*items: tuple[Any, Any], request_id: Any = REQUEST_ID, key: str = "serviceOrderItem"):
    """A callback body; an item's id or state of None is left out."""
    entries = []
    for domain_order, state in items:
        entry = {}
        if domain_order is not None:
            entry["id"] = domain_order
        if state is not None:
            entry["state"] = state
        entries.append(entry)
    payload: dict[str, Any] = {key: entries}
    if request_id is not None:
        payload["externalId"] = request_id
    return payload


async def post(client: TestClient, payload: Any, user: str = "integrator", path: str = PATH):
    return await client.post(path, json=payload, headers=auth(user))


async def other_domain_order(url: str) -> str:
    """A domain order that exists but is not part of the demo outbound request."""
    rows = await fetch(url, "SELECT sys_id FROM domain_order WHERE sys_id <> $1", DOMAIN_ORDER)
    assert rows, "the demo data has other domain orders"
    return str(rows[0]["sys_id"])


# --- the seed's example ------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PATH, ALIAS_PATH])
async def test_seed_example_answers_201_with_its_body(
    demo_client: TestClient, demo_database_url: str, path: str
) -> None:
    ex = example("09_outboundresponse")
    resp = await demo_client.post(path, json=ex["body"], headers=auth("integrator"))
    answer = await resp.json()
    assert resp.status == ex["expected_status"] == 201, answer
    assert answer == ex["response_example"]
    record = await fetch(
        demo_database_url, "SELECT state, response FROM outbound_request WHERE number = $1", NUMBER
    )
    assert [(r["state"], json.loads(r["response"])) for r in record] == [("error", ex["body"])]
    domain = await fetch(
        demo_database_url,
        "SELECT fulfillment_state FROM domain_order WHERE sys_id = $1",
        DOMAIN_ORDER,
    )
    assert domain == [{"fulfillment_state": "error"}]
    order = await (
        await demo_client.get(f"{ORDERS}/{ORDER_IN_PROGRESS}", headers=auth("integrator"))
    ).json()
    assert order["state"] == "error"
    assert [i["state"] for i in order["serviceOrderItem"]] == ["error"]
    notes = await (
        await demo_client.get(
            f"/api/orderhub/serviceOrder/{ORDER_IN_PROGRESS}/workNote", headers=auth("agent")
        )
    ).json()
    assert any("reported error" in n["text"] for n in notes), notes
    shown = await (
        await demo_client.get(f"/api/orderhub/outboundRequest/{NUMBER}", headers=auth("agent"))
    ).json()
    assert (shown["state"], shown["requestId"], shown["domainOrderId"]) == (
        "error",
        REQUEST_ID,
        DOMAIN_ORDER,
    )
    assert shown["response"] == ex["body"]


async def test_capital_service_order_item_key_is_read(
    demo_client: TestClient, demo_database_url: str
) -> None:
    payload = body((DOMAIN_ORDER, "fulfilled"), key="ServiceOrderItem")
    resp = await post(demo_client, payload)
    assert resp.status == 201, await resp.text()
    assert await resp.json() == payload
    rows = await fetch(
        demo_database_url,
        "SELECT r.state, d.fulfillment_state, o.state AS order_state FROM outbound_request r "
        "JOIN domain_order d ON d.sys_id = r.domain_order "
        "JOIN service_order o ON o.sys_id = r.source_record WHERE r.number = $1",
        NUMBER,
    )
    assert rows == [
        {"state": "fulfilled", "fulfillment_state": "fulfilled", "order_state": "completed"}
    ]


async def test_fulfilled_completes_the_order_with_an_active_inventory(
    demo_client: TestClient, demo_database_url: str
) -> None:
    assert (await post(demo_client, body((DOMAIN_ORDER, "pending")))).status == 201
    order = await (
        await demo_client.get(f"{ORDERS}/{ORDER_IN_PROGRESS}", headers=auth("integrator"))
    ).json()
    assert order["state"] == "in_progress"
    assert (await post(demo_client, body((DOMAIN_ORDER, "fulfilled")))).status == 201
    order = await (
        await demo_client.get(f"{ORDERS}/{ORDER_IN_PROGRESS}", headers=auth("integrator"))
    ).json()
    assert order["state"] == "completed" and order["completionDate"]
    service = order["serviceOrderItem"][0]["service"]
    assert service["state"] == "active"
    inventory = await fetch(
        demo_database_url,
        "SELECT state, characteristics FROM product_inventory WHERE sys_id = $1",
        service["id"],
    )
    assert inventory and inventory[0]["state"] == "active"


# --- the six 400 texts, nothing changed --------------------------------------------------------

OTHER = "<other domain order>"
UNKNOWN = "0123456789abcdef0123456789abcdef"

REFUSED = [
    # (name, body, status code, seed text)
    (
        "no externalId",
        body((DOMAIN_ORDER, "fulfilled"), request_id=None),
        23,
        m.OUTBOUND_EXTERNAL_ID_MISSING,
    ),
    (
        "blank externalId",
        body((DOMAIN_ORDER, "fulfilled"), request_id="  "),
        23,
        m.OUTBOUND_EXTERNAL_ID_MISSING,
    ),
    ("no state", body((DOMAIN_ORDER, None)), 23, m.OUTBOUND_ITEM_STATE_MISSING),
    (
        "no state, 2nd of two",
        body((DOMAIN_ORDER, "fulfilled"), (DOMAIN_ORDER, None)),
        23,
        m.OUTBOUND_ITEM_STATE_MISSING,
    ),
    (
        "unknown externalId",
        body((DOMAIN_ORDER, "fulfilled"), request_id=UNKNOWN),
        24,
        m.OUTBOUND_EXTERNAL_ID_INVALID,
    ),
    ("unknown domain order", body((UNKNOWN, "fulfilled")), 24, m.OUTBOUND_DOMAIN_ORDER_ID_INVALID),
    (
        "unknown domain order, 2nd of two",
        body((DOMAIN_ORDER, "fulfilled"), (UNKNOWN, "pending")),
        24,
        m.OUTBOUND_DOMAIN_ORDER_ID_INVALID,
    ),
    (
        "domain order of another request",
        body((OTHER, "fulfilled")),
        24,
        m.OUTBOUND_DOMAIN_ORDER_NOT_ASSOCIATED,
    ),
    (
        "2nd of two not associated",
        body((DOMAIN_ORDER, "fulfilled"), (OTHER, "fulfilled")),
        24,
        m.OUTBOUND_DOMAIN_ORDER_NOT_ASSOCIATED,
    ),
    ("bad state", body((DOMAIN_ORDER, "done")), 24, m.OUTBOUND_FULFILMENT_STATE_INVALID),
    (
        "bad state, 2nd of two",
        body((DOMAIN_ORDER, "fulfilled"), (DOMAIN_ORDER, "Completed")),
        24,
        m.OUTBOUND_FULFILMENT_STATE_INVALID,
    ),
    (
        "capital key, bad state",
        body((DOMAIN_ORDER, "pending"), (DOMAIN_ORDER, "cancelled"), key="ServiceOrderItem"),
        24,
        m.OUTBOUND_FULFILMENT_STATE_INVALID,
    ),
]


@pytest.mark.parametrize(("name", "payload", "code", "text"), REFUSED, ids=[r[0] for r in REFUSED])
async def test_refused_callback_changes_nothing(
    demo_client: TestClient,
    demo_database_url: str,
    name: str,
    payload: dict[str, Any],
    code: int,
    text: str,
) -> None:
    payload = copy.deepcopy(payload)
    other = await other_domain_order(demo_database_url)
    for entry in payload.get("serviceOrderItem", payload.get("ServiceOrderItem", [])):
        if entry.get("id") == OTHER:
            entry["id"] = other
    before = await snapshot(demo_database_url)
    detail = await error_detail(await post(demo_client, payload), 400, code)
    assert detail["message"] == text
    assert await snapshot(demo_database_url) == before


async def test_empty_body_is_external_id_missing(
    demo_client: TestClient, demo_database_url: str
) -> None:
    before = await snapshot(demo_database_url)
    resp = await demo_client.post(
        PATH, data=b"", headers={**auth("integrator"), "Content-Type": "application/json"}
    )
    detail = await error_detail(resp, 400, 21)
    assert detail["message"] == m.OUTBOUND_EXTERNAL_ID_MISSING
    assert await snapshot(demo_database_url) == before


async def test_datapath_follows_the_body_key(demo_client: TestClient) -> None:
    payload = body((DOMAIN_ORDER, "pending"), (UNKNOWN, "pending"), key="ServiceOrderItem")
    detail = await error_detail(await post(demo_client, payload), 400, 24)
    assert detail == {
        "message": m.OUTBOUND_DOMAIN_ORDER_ID_INVALID,
        "datapath": "/ServiceOrderItem/1/id",
    }


# --- repeats and roles -------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["pending", "fulfilled", "error"])
async def test_a_repeated_callback_is_harmless(
    demo_client: TestClient, demo_database_url: str, state: str
) -> None:
    payload = body((DOMAIN_ORDER, state))
    first = await post(demo_client, payload)
    assert first.status == 201, await first.text()
    after_first = await snapshot(demo_database_url)
    second = await post(demo_client, payload)
    assert second.status == 201
    assert await second.json() == payload
    assert await snapshot(demo_database_url) == after_first


@pytest.mark.parametrize(("user", "status"), [("agent", 403), ("nobody", 403)])
async def test_only_the_integrator_may_call_back(
    demo_client: TestClient, demo_database_url: str, user: str, status: int
) -> None:
    before = await snapshot(demo_database_url)
    resp = await post(demo_client, body((DOMAIN_ORDER, "fulfilled")), user=user)
    assert resp.status == status
    assert (await resp.json())["code"] == 50
    assert await snapshot(demo_database_url) == before


async def test_without_credentials_401(demo_client: TestClient) -> None:
    resp = await demo_client.post(PATH, json=body((DOMAIN_ORDER, "fulfilled")))
    assert resp.status == 401


# --- a request of several domain orders (hierarchical, initiated here, not sent) --------------


async def initiated(client: TestClient, order: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    created = await client.post(ORDERS, json=order, headers=auth("integrator"))
    assert created.status == 201, await created.text()
    order_id = (await created.json())["id"]
    resp = await client.post(
        f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", headers=auth("agent")
    )
    records = await resp.json()
    assert resp.status == 201, records
    return order_id, records


async def test_hierarchy_shares_one_request_and_a_bad_item_of_many_changes_nothing(
    demo_client: TestClient, demo_database_url: str
) -> None:
    order_id, records = await initiated(demo_client, sdwan_hierarchy())
    assert len(records) == 3 and len({r["requestId"] for r in records}) == 1
    assert {r["state"] for r in records} == {"not_applicable"}
    request_id = records[0]["requestId"]
    domains = [r["domainOrderId"] for r in records]
    bad_bodies = [
        body(*((d, "pending") for d in domains[:2]), (domains[2], "nope"), request_id=request_id),
        body(*((d, "pending") for d in domains), (UNKNOWN, "pending"), request_id=request_id),
        body((domains[0], "fulfilled"), (DOMAIN_ORDER, "fulfilled"), request_id=request_id),
        body((domains[0], "fulfilled"), (domains[1], None), request_id=request_id),
    ]
    before = await snapshot(demo_database_url)
    for bad in bad_bodies:
        assert (await post(demo_client, bad)).status == 400
    assert await snapshot(demo_database_url) == before
    good = body(*((d, "fulfilled") for d in domains), request_id=request_id)
    resp = await post(demo_client, good, path=ALIAS_PATH)
    assert resp.status == 201, await resp.text()
    order = await (await demo_client.get(f"{ORDERS}/{order_id}", headers=auth("integrator"))).json()
    assert order["state"] == "completed"
    assert {i["state"] for i in order["serviceOrderItem"]} == {"completed"}
    assert {i["service"]["state"] for i in order["serviceOrderItem"]} == {"active"}
    shown = await (
        await demo_client.get(
            f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", headers=auth("agent")
        )
    ).json()
    assert {r["state"] for r in shown} == {"fulfilled"}


async def test_pending_reaches_the_point_of_no_return_of_a_pending_spec(
    demo_client: TestClient,
) -> None:
    order_id, records = await initiated(demo_client, order_of(item("add", "1", spec=EDGE_SPEC)))
    request_id, domain_order = records[0]["requestId"], records[0]["domainOrderId"]
    resp = await post(demo_client, body((domain_order, "pending"), request_id=request_id))
    assert resp.status == 201
    order = await (await demo_client.get(f"{ORDERS}/{order_id}", headers=auth("integrator"))).json()
    assert order["ponr"] == "true" and order["serviceOrderItem"][0]["ponr"] == "true"
    patch = order_of(item("add", "1", spec=EDGE_SPEC), description="too late")
    detail = await error_detail(
        await demo_client.patch(f"{ORDERS}/{order_id}", json=patch, headers=auth("integrator")),
        400,
        62,
    )
    assert detail["message"] == m.ORDERHUB_POINT_OF_NO_RETURN
    detail = await error_detail(
        await demo_client.post(
            CANCEL, json={"serviceOrder": {"id": order_id}}, headers=auth("integrator")
        ),
        400,
        62,
    )
    assert detail["message"] == m.ORDERHUB_POINT_OF_NO_RETURN


async def test_pending_is_not_the_point_of_no_return_of_other_specs(
    demo_client: TestClient,
) -> None:
    order_id, records = await initiated(demo_client, order_of(item("add", "1", spec=LINK_SPEC)))
    request_id, domain_order = records[0]["requestId"], records[0]["domainOrderId"]
    resp = await post(demo_client, body((domain_order, "pending"), request_id=request_id))
    assert resp.status == 201
    order = await (await demo_client.get(f"{ORDERS}/{order_id}", headers=auth("integrator"))).json()
    assert order["ponr"] == "false" and order["state"] == "in_progress"


# --- the agent's endpoints next to it (app/http/fulfilment.py) ---------------------------------


async def test_initiating_twice_sends_nothing_more(
    demo_client: TestClient, demo_database_url: str
) -> None:
    order_id, records = await initiated(demo_client, order_of(item("add", "1", spec=LINK_SPEC)))
    assert [r["target"] for r in records] == ["TOM"]
    assert records[0]["number"].startswith("FO") and len(records[0]["number"]) == 9
    before = await snapshot(demo_database_url)
    resp = await demo_client.post(
        f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", headers=auth("agent")
    )
    await error_detail(resp, 400, 62)
    assert await snapshot(demo_database_url) == before


@pytest.mark.parametrize(
    ("order_id", "user", "status", "code"),
    [
        ("bd30366ec3a83010abc8b5183c40dd92", "agent", 400, 62),  # completed
        (UNKNOWN, "agent", 404, 60),
        ("4f2af65ac3a030106e2473ce3640ddcf", "integrator", 403, 50),
    ],
)
async def test_initiate_refusals_change_nothing(
    demo_client: TestClient,
    demo_database_url: str,
    order_id: str,
    user: str,
    status: int,
    code: int,
) -> None:
    before = await snapshot(demo_database_url)
    resp = await demo_client.post(
        f"/api/orderhub/serviceOrder/{order_id}/outboundRequest", headers=auth(user)
    )
    await error_detail(resp, status, code)
    assert await snapshot(demo_database_url) == before


async def test_operator_reads(demo_client: TestClient) -> None:
    base = f"/api/orderhub/serviceOrder/{ORDER_IN_PROGRESS}"
    records = await (await demo_client.get(f"{base}/outboundRequest", headers=auth("agent"))).json()
    assert [(r["number"], r["requestId"], r["state"]) for r in records] == [
        (NUMBER, REQUEST_ID, "pending")
    ]
    domains = await (await demo_client.get(f"{base}/domainOrder", headers=auth("agent"))).json()
    assert [(d["id"], d["serviceOrderItemId"], d["fulfillmentState"]) for d in domains] == [
        (DOMAIN_ORDER, "100", "pending")
    ]
    for path in (
        f"/api/orderhub/serviceOrder/{UNKNOWN}/outboundRequest",
        f"/api/orderhub/serviceOrder/{UNKNOWN}/domainOrder",
        "/api/orderhub/outboundRequest/FO9999999",
    ):
        await error_detail(await demo_client.get(path, headers=auth("agent")), 404, 60)
    await error_detail(
        await demo_client.get(f"{base}/outboundRequest", headers=auth("integrator")), 403, 50
    )
