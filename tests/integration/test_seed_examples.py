"""The seed's own cURL examples, posted as the seed writes them, against the demo catalogue."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.helpers.auth import auth
from tests.helpers.payloads import example


@pytest.mark.parametrize("name", ["06_post_add", "07_post_change", "08_post_delete"])
async def test_seed_create_examples(demo_client: TestClient, name: str) -> None:
    ex = example(name)
    resp = await demo_client.post(ex["path"], json=ex["body"], headers=auth("integrator"))
    body = await resp.json()
    assert resp.status == 201, body
    expected = ex["response_example"]
    assert body["state"] == "new"
    assert body["href"] == f"/api/sn_tmf_api/order/serviceOrder/{body['id']}"
    assert body["orderDate"].endswith("Z") and len(body["orderDate"]) == 24
    for key in ("externalId", "note", "relatedParty", "requestedStartDate", "@type"):
        assert body[key] == expected[key], key
    item, want = body["serviceOrderItem"][0], expected["serviceOrderItem"][0]
    assert item["state"] == "new"
    assert item["service"]["serviceCharacteristic"] == want["service"]["serviceCharacteristic"]
    if "serviceSpecification" in want["service"]:
        assert item["service"]["serviceSpecification"] == want["service"]["serviceSpecification"]

    got = await demo_client.get(
        f"/api/sn_tmf_api/order/serviceOrder/{body['id']}", headers=auth("integrator")
    )
    assert got.status == 200
    order = await got.json()
    assert order["id"] == body["id"] and order["ponr"] == "false" and order["version"] == "1"
    assert order["serviceOrderItem"][0]["@type"] == "ServiceOrderItem"
    assert order["serviceOrderItem"][0]["service"]["@type"] == "Service"


async def test_seed_get_by_id_example(demo_client: TestClient) -> None:
    ex = example("02_get_by_id")
    resp = await demo_client.get(ex["path"], headers=auth("integrator"))
    assert resp.status == 200
    body = await resp.json()
    expected = ex["response_example"]
    assert set(expected) <= set(body) | {"externalId"}
    for key in (
        "id",
        "ponr",
        "note",
        "relatedParty",
        "state",
        "version",
        "@type",
        "href",
        "orderDate",
        "requestedStartDate",
    ):
        assert body[key] == expected[key], key
    item, want = body["serviceOrderItem"][0], expected["serviceOrderItem"][0]
    for key in want:
        assert item[key] == want[key], key
    assert list(item) == list(want)


async def test_seed_get_list_example(demo_client: TestClient) -> None:
    ex = example("01_get_list")
    resp = await demo_client.get(ex["path"], headers=auth("integrator"))
    assert resp.status == 200
    body = await resp.json()
    listed = {order["id"]: order for order in body}
    want = ex["response_example"][0]
    got = listed[want["id"]]
    for key in ("ponr", "completionDate", "state", "version", "relatedParty", "orderDate"):
        assert got[key] == want[key], key
    assert (
        got["serviceOrderItem"][0]["service"]["id"] == want["serviceOrderItem"][0]["service"]["id"]
    )


async def test_seed_patch_example(demo_client: TestClient) -> None:
    ex = example("03_patch")
    resp = await demo_client.patch(ex["path"], json=ex["body"], headers=auth("integrator"))
    body = await resp.json()
    assert resp.status == 200, body
    assert body["state"] == "revision_received"
    assert body["id"] == ex["path"].rsplit("/", 1)[1]
    got = await (await demo_client.get(ex["path"], headers=auth("integrator"))).json()
    assert got["state"] == "revision_received"
    assert got["version"] == "2"
    assert got["serviceOrderItem"][0]["place"]["id"] == "5671dd2ec3a53010188473ce3640dd81"


async def test_seed_cancel_example(demo_client: TestClient) -> None:
    ex = example("04_cancel")
    resp = await demo_client.post(ex["path"], json=ex["body"], headers=auth("integrator"))
    body = await resp.json()
    assert resp.status == 200, body
    assert body == ex["response_example"]
    order_id = ex["body"]["serviceOrder"]["id"]
    got = await demo_client.get(
        f"/api/sn_tmf_api/order/serviceOrder/{order_id}", headers=auth("integrator")
    )
    assert (await got.json())["state"] == "cancelled"
