"""Every answer of the standard flavour is valid as TMF641 v4.1.0's own definitions say, over
orders in every state (docs/states.md), and its `state` filter selects an order exactly by
the name it is shown with.

The orders reach their states the way they do in service: created on either flavour, revised,
cancelled, sent for fulfilment by an agent and called back by SOM/TOM.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from app.domain.tmf_states import ORDER_STATES
from tests.helpers.auth import auth
from tests.helpers.in_process import created_and_initiated
from tests.helpers.payloads import (
    FIREWALL_SPEC,
    INV_ACTIVE,
    OUTBOUND_RESPONSE,
    add_order,
    tmf_add_order,
)
from tests.helpers.payloads import ORDERS as SN_ORDERS
from tests.helpers.payloads import TMF_CANCELS as CANCELS
from tests.helpers.payloads import TMF_ORDERS as ORDERS
from tests.helpers.tmf_schema import assert_matches_definition

USER = auth("integrator")


@dataclass(frozen=True)
class Case:
    order_id: str
    own_state: str  # as the ServiceNow flavour shows it
    tmf_state: str  # as the standard flavour must


async def _json(resp: ClientResponse, status: int) -> Any:
    body = await resp.json()
    assert resp.status == status, body
    return body


async def _order(client: TestClient, path: str) -> dict[str, Any]:
    body: dict[str, Any] = await _json(await client.get(path, headers=USER), 200)
    return body


def _two_items() -> dict[str, Any]:
    """The seed's add order with a second, independent item: one outbound request each."""
    body = add_order()
    first = body["serviceOrderItem"][0]
    first["service"].pop("serviceRelationship", None)
    body["serviceOrderItem"] = [{**copy.deepcopy(first), "id": str(n)} for n in (1, 2)]
    return body


def _related_items() -> dict[str, Any]:
    """v4.1.0 item relationships and actions, a modify among them."""
    body = tmf_add_order()
    spec = {"serviceSpecification": {"id": FIREWALL_SPEC}}
    body["serviceOrderItem"] = [
        {
            "id": "1",
            "action": "add",
            "service": copy.deepcopy(spec),
            "serviceOrderItemRelationship": [
                {"relationshipType": "HasChild", "orderItem": {"itemId": "2"}}
            ],
        },
        {
            "id": "2",
            "action": "add",
            "service": copy.deepcopy(spec),
            "serviceOrderItemRelationship": [
                {"relationshipType": "HasParent", "orderItem": {"itemId": "1"}}
            ],
        },
        {"id": "3", "action": "modify", "service": {"id": INV_ACTIVE}},
    ]
    return body


async def _called_back(client: TestClient, *states: tuple[str, ...]) -> str:
    """A two-item order sent for fulfilment; SOM/TOM then reports, per item, the states given."""
    order_id, records = await created_and_initiated(client, _two_items())
    assert len(records) == 2
    for record, reports in zip(records, states, strict=True):
        for state in reports:
            body = {
                "externalId": record["requestId"],
                "serviceOrderItem": [{"id": record["domainOrderId"], "state": state}],
            }
            await _json(await client.post(OUTBOUND_RESPONSE, json=body, headers=USER), 201)
    return order_id


async def _created(client: TestClient, body: dict[str, Any]) -> str:
    created = await _json(await client.post(ORDERS, json=body, headers=USER), 201)
    assert_matches_definition(created, "ServiceOrder")
    order_id: str = created["id"]
    return order_id


async def orders_in_every_state(client: TestClient) -> list[Case]:
    """Orders in every OrderHub state, `error` both ways; each answer met on the way is
    checked against its definition."""
    new = await _created(client, tmf_add_order())
    related = await _created(client, _related_items())

    revised = await _created(client, tmf_add_order())
    patch = {"priority": "2", "note": [{"text": "revised"}]}
    patched = await _json(await client.patch(f"{ORDERS}/{revised}", json=patch, headers=USER), 200)
    assert_matches_definition(patched, "ServiceOrder")

    cancelled = await _created(client, tmf_add_order())
    cancel = {"serviceOrder": {"id": cancelled}, "cancellationReason": "Duplicate order"}
    cancellation = await _json(await client.post(CANCELS, json=cancel, headers=USER), 201)
    assert_matches_definition(cancellation, "CancelServiceOrder")

    pending = ("pending",)
    return [
        Case(new, "new", "acknowledged"),
        Case(related, "new", "acknowledged"),
        Case(revised, "revision_received", "inProgress"),
        Case(cancelled, "cancelled", "cancelled"),
        Case(await _called_back(client, pending, pending), "in_progress", "inProgress"),
        Case(
            await _called_back(client, ("pending", "fulfilled"), ("pending", "fulfilled")),
            "completed",
            "completed",
        ),
        Case(await _called_back(client, ("pending", "error"), pending), "error", "failed"),
        Case(
            await _called_back(client, ("pending", "fulfilled"), ("pending", "error")),
            "error",
            "partial",
        ),
    ]


async def test_every_answer_is_valid_over_orders_in_every_state(demo_client: TestClient) -> None:
    cases = await orders_in_every_state(demo_client)
    for case in cases:
        order = await _order(demo_client, f"{ORDERS}/{case.order_id}")
        assert_matches_definition(order, "ServiceOrder")
        assert order["state"] == case.tmf_state, case
        own = await _order(demo_client, f"{SN_ORDERS}/{case.order_id}")
        assert own["state"] == case.own_state, case

    ids = ",".join(c.order_id for c in cases)
    listed = await _json(await demo_client.get(f"{ORDERS}?id={ids}", headers=USER), 200)
    assert len(listed) == len(cases)
    # Every order of the demo catalogue too, the seed's example orders among them.
    listed += await _json(await demo_client.get(f"{ORDERS}?limit=100", headers=USER), 200)
    for order in listed:
        assert_matches_definition(order, "ServiceOrder")


async def test_every_cancellation_answer_is_valid(demo_client: TestClient) -> None:
    for _ in range(2):
        order_id = await _created(demo_client, tmf_add_order())
        cancel = {
            "serviceOrder": {"id": order_id, "@referredType": "ServiceOrder"},
            "requestedCancellationDate": "2023-01-24 11:56:21",
            "@type": "CancelServiceOrder",
        }
        created = await _json(await demo_client.post(CANCELS, json=cancel, headers=USER), 201)
        assert_matches_definition(created, "CancelServiceOrder")
        got = await _json(await demo_client.get(f"{CANCELS}/{created['id']}", headers=USER), 200)
        assert got == created
    listed = await _json(await demo_client.get(CANCELS, headers=USER), 200)
    assert len(listed) >= 2
    for cancellation in listed:
        assert_matches_definition(cancellation, "CancelServiceOrder")


async def test_the_state_filter_selects_by_the_name_shown(demo_client: TestClient) -> None:
    cases = await orders_in_every_state(demo_client)
    ids = ",".join(c.order_id for c in cases)
    for name in ORDER_STATES:
        resp = await demo_client.get(f"{ORDERS}?id={ids}&state={name}", headers=USER)
        selected = {o["id"] for o in await _json(resp, 200)}
        assert selected == {c.order_id for c in cases if c.tmf_state == name}, name
        assert resp.headers["X-Total-Count"] == str(len(selected))

    resp = await demo_client.get(f"{ORDERS}?id={ids}&state=failed,acknowledged", headers=USER)
    selected = {o["id"] for o in await _json(resp, 200)}
    assert selected == {c.order_id for c in cases if c.tmf_state in ("failed", "acknowledged")}

    # Alone, without another filter, `partial` and `failed` are counted like any other filter.
    for name in ("partial", "failed", "inProgress"):
        resp = await demo_client.get(f"{ORDERS}?state={name}&limit=100", headers=USER)
        body = await _json(resp, 200)
        assert int(resp.headers["X-Total-Count"]) == len(body)
        assert all(o["state"] == name for o in body) and body, name
