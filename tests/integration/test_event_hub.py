"""The hub's subscriptions, and the events each change writes in its own transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from app.domain.tmf_rendering import render_tmf_order
from app.http.app import create_app
from app.services import events
from app.services.outbound import prepare_send, send_failed
from app.settings import Settings
from app.store import deliveries, orders
from app.store.db import create_pool
from tests.helpers.auth import auth
from tests.helpers.in_process import app_client, created_and_initiated, one_error_one_done
from tests.helpers.payloads import (
    BRANCH,
    CANCEL,
    HQ,
    INV_ACTIVE,
    ORDERS,
    TMF,
    TMF_CANCELS,
    TMF_ORDERS,
    async_example,
    change_order,
    sdwan_hierarchy,
    sn_add_order,
    tmf_add_order,
    unique_external_id,
)
from tests.helpers.tmf_schema import assert_matches_definition

HUB = f"{TMF}/hub"
SN_HUB = "/api/sn_tmf_api/order/hub"
LISTENER = "http://127.0.0.1:9/listener"


@pytest.fixture
async def open_settings(demo_settings: Settings) -> Settings:
    return replace(demo_settings, orderhub_hub_allow_private_callbacks=True)


@pytest.fixture
async def client(open_settings: Settings) -> AsyncIterator[TestClient]:
    async with app_client(create_app(open_settings)) as c:
        yield c


@pytest.fixture
async def db(demo_database_url: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(demo_database_url)
    yield conn
    await conn.close()


async def subscribe(client: TestClient, query: str = "", user: str = "integrator") -> Any:
    resp = await client.post(HUB, json={"callback": LISTENER, "query": query}, headers=auth(user))
    body = await resp.json()
    assert resp.status == 201, body
    return body


async def delivered_types(db: asyncpg.Connection[Any], subscription: str) -> list[str]:
    """The subscription's deliveries, once the events raised so far are fanned out (as an
    event worker does)."""
    await deliveries.fan_out(db, 1000)
    rows = await db.fetch(
        "SELECT e.event_type FROM event_delivery d JOIN order_event e ON e.seq = d.event_seq"
        " WHERE d.subscription = $1 ORDER BY e.seq",
        subscription,
    )
    return [r["event_type"] for r in rows]


async def events_of(db: asyncpg.Connection[Any], order_id: str) -> list[dict[str, Any]]:
    """Each checked against the swagger's definition of its type."""
    rows = await db.fetch("SELECT body FROM order_event WHERE order_id = $1 ORDER BY seq", order_id)
    bodies = [json.loads(r["body"]) for r in rows]
    for body in bodies:
        assert_matches_definition(body, body["eventType"])
    return bodies


async def test_registration_answers_the_subscription_and_its_secret_once(
    client: TestClient,
) -> None:
    created = await subscribe(client, "eventType=ServiceOrderCreateEvent")
    assert set(created) == {"id", "callback", "query", "secret"}
    assert_matches_definition(created, "EventSubscription")
    assert created["secret"].startswith("whsec_")
    assert created["query"] == "eventType=ServiceOrderCreateEvent"
    got = await client.get(f"{HUB}/{created['id']}", headers=auth("integrator"))
    assert got.status == 200
    assert await got.json() == {k: created[k] for k in ("id", "callback", "query")}
    # the ServiceNow flavour's hub is the same table
    sn = await client.get(f"{SN_HUB}/{created['id']}", headers=auth("integrator"))
    assert sn.status == 200


async def test_a_user_sees_and_deletes_only_its_own(client: TestClient) -> None:
    mine = await subscribe(client, user="integrator")
    theirs = await subscribe(client, user="admin")
    for method in ("GET", "DELETE"):
        resp = await client.request(method, f"{HUB}/{theirs['id']}", headers=auth("integrator"))
        assert resp.status == 404 and (await resp.json())["code"] == "60"
    assert (await client.delete(f"{HUB}/{mine['id']}", headers=auth("integrator"))).status == 204
    assert (await client.get(f"{HUB}/{mine['id']}", headers=auth("integrator"))).status == 404
    assert (await client.get(f"{HUB}/{theirs['id']}", headers=auth("admin"))).status == 200


@pytest.mark.parametrize(
    ("body", "code", "datapath"),
    [
        ({"query": ""}, "23", "/callback"),
        ({"callback": 7}, "24", "/callback"),
        ({"callback": LISTENER, "query": "eventType=Nope"}, "24", "/query"),
        ({"callback": LISTENER, "query": "orderState=completed"}, "24", "/query"),
        ({"callback": LISTENER, "query": "a"}, "24", "/query"),
        ({"callback": "ftp://example.com/x"}, "24", "/callback"),
    ],
)
async def test_what_cannot_be_used_is_refused_at_registration(
    client: TestClient, body: dict[str, Any], code: str, datapath: str
) -> None:
    resp = await client.post(HUB, json=body, headers=auth("integrator"))
    error = await resp.json()
    assert resp.status == 400, error
    assert error["code"] == code and error["details"][0]["datapath"] == datapath


@pytest.mark.parametrize(
    "callback",
    [
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/x",
        "http://[::1]/x",
        "http://192.168.0.10:9000/hook",
    ],
)
async def test_private_callbacks_are_refused_unless_the_setting_allows_them(
    demo_settings: Settings, callback: str
) -> None:
    async with app_client(create_app(demo_settings)) as closed:
        resp = await closed.post(HUB, json={"callback": callback}, headers=auth("integrator"))
        error = await resp.json()
        assert resp.status == 400, error
        assert error["details"][0]["datapath"] == "/callback"


async def test_no_subscription_no_events(client: TestClient, db: asyncpg.Connection[Any]) -> None:
    resp = await client.post(TMF_ORDERS, json=tmf_add_order(), headers=auth("integrator"))
    assert resp.status == 201
    assert await db.fetchval("SELECT count(*) FROM order_event") == 0


async def test_each_change_writes_its_events_and_filters_choose_who_gets_them(
    client: TestClient, db: asyncpg.Connection[Any]
) -> None:
    everything = await subscribe(client)
    states = await subscribe(client, "eventType=ServiceOrderStateChangeEvent")
    cancelled = await subscribe(client, "event.serviceOrder.state=cancelled")
    created = await (
        await client.post(TMF_ORDERS, json=tmf_add_order(), headers=auth("integrator"))
    ).json()
    order_id = created["id"]
    patched = await client.patch(
        f"{TMF_ORDERS}/{order_id}", json={"description": "now"}, headers=auth("integrator")
    )
    assert patched.status == 200, await patched.text()
    resp = await client.post(
        TMF_CANCELS, json={"serviceOrder": {"id": order_id}}, headers=auth("integrator")
    )
    assert resp.status == 201, await resp.text()
    bodies = await events_of(db, order_id)
    assert [b["eventType"] for b in bodies] == [
        "ServiceOrderCreateEvent",
        "ServiceOrderAttributeValueChangeEvent",
        "ServiceOrderStateChangeEvent",  # revision_received
        "ServiceOrderStateChangeEvent",  # cancelled
        "CancelServiceOrderCreateEvent",
        "CancelServiceOrderStateChangeEvent",
    ]
    assert await delivered_types(db, everything["id"]) == [b["eventType"] for b in bodies]
    assert await delivered_types(db, states["id"]) == ["ServiceOrderStateChangeEvent"] * 2
    # cancel events carry the cancellation, which has no serviceOrder.state
    assert await delivered_types(db, cancelled["id"]) == ["ServiceOrderStateChangeEvent"]
    change = bodies[1]
    assert "description" in change["fieldPath"].split(",")
    assert change["event"]["serviceOrder"]["description"] == "now"
    assert bodies[3]["event"]["serviceOrder"]["state"] == "cancelled"
    assert bodies[5]["event"]["cancelServiceOrder"]["state"] == "done"
    assert bodies[5]["event"]["cancelServiceOrder"]["serviceOrder"]["id"] == order_id
    for body in bodies:
        assert body["correlationId"] == order_id and body["domain"] == "ServiceOrdering"
        assert set(body) >= {"eventId", "eventTime", "timeOcurred", "title", "priority"}


async def test_delete_and_the_servicenow_flavour_raise_events_too(
    client: TestClient, db: asyncpg.Connection[Any]
) -> None:
    sub = await subscribe(client)
    created = await (
        await client.post(TMF_ORDERS, json=tmf_add_order(), headers=auth("integrator"))
    ).json()
    assert (
        await client.delete(f"{TMF_ORDERS}/{created['id']}", headers=auth("integrator"))
    ).status == 204
    sn = await (await client.post(ORDERS, json=sn_add_order(), headers=auth("integrator"))).json()
    resp = await client.post(
        CANCEL, json={"serviceOrder": {"id": sn["id"]}}, headers=auth("integrator")
    )
    assert resp.status == 200, await resp.text()
    deleted = await events_of(db, created["id"])
    assert [b["eventType"] for b in deleted] == [
        "ServiceOrderCreateEvent",
        "ServiceOrderDeleteEvent",
    ]
    assert deleted[1]["event"]["serviceOrder"]["id"] == created["id"]
    assert [b["eventType"] for b in await events_of(db, sn["id"])] == [
        "ServiceOrderCreateEvent",
        "ServiceOrderStateChangeEvent",
        "CancelServiceOrderCreateEvent",
        "CancelServiceOrderStateChangeEvent",
    ]
    assert len(await delivered_types(db, sub["id"])) == 6


async def test_an_async_order_refused_for_a_missing_reference_needs_information(
    client: TestClient, open_settings: Settings, db: asyncpg.Connection[Any]
) -> None:
    await subscribe(client, "eventType=ServiceOrderInformationRequiredEvent")
    failed, done = await one_error_one_done(client, open_settings)
    (event,) = await events_of(db, failed)
    assert event["eventType"] == "ServiceOrderInformationRequiredEvent"
    assert event["fieldPath"].startswith("/serviceOrderItem/0/place")
    order = event["event"]["serviceOrder"]
    assert order["id"] == failed and order["errorMessage"][0]["code"] == "24"
    # its create event matched no subscription: an event nobody wants is not kept
    assert await events_of(db, done) == []


async def test_a_rolled_back_change_leaves_no_event(
    client: TestClient, db: asyncpg.Connection[Any]
) -> None:
    await subscribe(client)
    resp = await client.post(TMF_ORDERS, json={"serviceOrderItem": []}, headers=auth("integrator"))
    assert resp.status == 400
    assert await db.fetchval("SELECT count(*) FROM order_event") == 0


async def test_a_send_failing_for_long_raises_one_jeopardy_event(
    client: TestClient, db: asyncpg.Connection[Any], demo_database_url: str
) -> None:
    await subscribe(client, "eventType=ServiceOrderJeopardyEvent")
    order_id, records = await created_and_initiated(client, sn_add_order())
    pool = await create_pool(demo_database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            send = await prepare_send(conn, records[0]["requestId"])
            assert send is not None
            for attempt in (1, 2, 3):
                await send_failed(conn, send, attempt, "HTTP 503", 1.0, in_jeopardy=attempt > 1)
    finally:
        await pool.close()
    (event,) = await events_of(db, order_id)
    alert = event["event"]["serviceOrder"]["jeopardyAlert"][0]
    assert "still failing after 2 attempt(s): HTTP 503" in alert["message"]


def _created() -> list[tuple[str, dict[str, Any]]]:
    """(path, body) of orders that between them fill every row an order can have."""
    rich = sdwan_hierarchy(
        {
            "relatedParty": [
                {"firstName": "Mike", "lastName": "Hudson", "@referredType": "OrderLineItemContact"}
            ],
            "externalProductInventory": [
                {"externalProductInventoryId": "EXT-PI-2"},
                {"externalProductInventoryId": "EXT-PI-1"},
            ],
            "place": {"id": BRANCH, "@type": "Place"},
        },
        note=[
            {"text": "older", "date": "2024-01-02 03:04:05"},
            {"text": "newer", "date": "2025-06-07 08:09:10"},
            {"text": "undated"},
        ],
        priority="1",
        description="every row",
        category="test",
        requestedStartDate="2026-01-01 00:00:00",
    )
    rich["serviceOrderItem"][1]["orderRelationship"] = [{"id": "3", "relationshipType": "Requires"}]
    return [
        (ORDERS, sn_add_order()),
        (ORDERS, rich),
        (ORDERS, {**async_example(), "externalId": unique_external_id()}),
        (ORDERS, change_order(unique_external_id(), INV_ACTIVE, "Firewall Security", "Basic", HQ)),
        (TMF_ORDERS, tmf_add_order()),
    ]


async def test_a_creation_event_shows_the_order_exactly_as_a_read_of_it_would(
    client: TestClient, db: asyncpg.Connection[Any], demo_database_url: str
) -> None:
    """Creation events are rendered from the orders as built, not read back: the rendering
    must equal that of the stored order, row for row."""
    await subscribe(client, "eventType=ServiceOrderCreateEvent")
    pool = await create_pool(demo_database_url, max_size=2)
    try:
        for path, body in _created():
            resp = await client.post(path, json=body, headers=auth("integrator"))
            answer = await resp.json()
            assert resp.status == 201, answer
            (event,) = await events_of(db, answer["id"])
            async with pool.acquire() as conn:
                stored = await orders.get(conn, answer["id"])
            assert stored is not None
            assert event["event"]["serviceOrder"] == render_tmf_order(stored, events.base_url())
    finally:
        await pool.close()


async def test_events_not_yet_fanned_out_count_as_pending_for_each_subscriber(
    client: TestClient, db: asyncpg.Connection[Any]
) -> None:
    for _ in range(2):
        await subscribe(client)
    resp = await client.post(TMF_ORDERS, json=tmf_add_order(), headers=auth("integrator"))
    assert resp.status == 201
    assert await deliveries.counts(db) == {"pending": 2, "dead": 0}
    fanned = await deliveries.fan_out(db, 1000)
    assert fanned is not None and fanned.events == 1 and len(fanned.subscriptions) == 2
    assert await deliveries.counts(db) == {"pending": 2, "dead": 0}
    assert await deliveries.fan_out(db, 1000) == deliveries.FannedOut(0, [])


async def test_how_far_deliveries_are_behind_counts_events_not_yet_fanned_out(
    client: TestClient, db: asyncpg.Connection[Any]
) -> None:
    assert await deliveries.oldest_pending_age(db) is None
    sub = await subscribe(client)
    resp = await client.post(TMF_ORDERS, json=tmf_add_order(), headers=auth("integrator"))
    assert resp.status == 201
    await db.execute("UPDATE order_event SET created_at = created_at - interval '1 hour'")
    assert 3600 <= (await deliveries.oldest_pending_age(db) or 0) < 3700  # not fanned out yet
    await deliveries.fan_out(db, 1000)
    assert 3600 <= (await deliveries.oldest_pending_age(db) or 0) < 3700  # a pending delivery
    assert (await client.delete(f"{HUB}/{sub['id']}", headers=auth("integrator"))).status == 204
    assert await deliveries.oldest_pending_age(db) is None
