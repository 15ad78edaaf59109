"""`mode=async`: stored before the 202, processed by workers through the same code as sync."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from app.domain import messages as m
from app.domain.claims import canonical_hash
from app.settings import Settings
from app.store import orders as store_orders
from app.store import schema
from tests.helpers.auth import auth
from tests.helpers.in_process import drain, post_async
from tests.helpers.payloads import ORDERS, async_example

URL = ORDERS


async def test_async_order_is_queued_then_processed(
    demo_client: TestClient, demo_settings: Settings, demo_database_url: str
) -> None:
    status, body = await post_async(demo_client, async_example())
    assert status == 202 and set(body) == {"orderId"}
    order_id = body["orderId"]
    conn = await asyncpg.connect(demo_database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM inbound_queue WHERE id = $1", order_id)
    finally:
        await conn.close()
    got = await demo_client.get(f"{URL}/{order_id}", headers=auth("integrator"))
    assert got.status == 200
    assert await got.json() == {
        "code": 102,
        "reason": "Request in queue",
        "message": "Request in queue",
        "details": [{"message": m.QUEUE_STILL_IN_QUEUE, "datapath": ""}],
    }
    await drain(demo_settings)
    got = await demo_client.get(f"{URL}/{order_id}", headers=auth("integrator"))
    order = await got.json()
    assert got.status == 200 and order["id"] == order_id and order["state"] == "new"


async def test_get_by_id_while_the_worker_commits_is_the_order_not_404(
    demo_client: TestClient, demo_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An accepted order is "in queue" or the order, never unknown. The worker's commit is put
    between the endpoint's two reads, where a busy machine may put it (the acceptance test of
    OUTBOUND_AUTO saw that 404)."""
    status, accepted = await post_async(demo_client, async_example())
    assert status == 202
    order_id = accepted["orderId"]
    read_order = store_orders.get
    committed = False

    async def read_then_commit(conn: Any, wanted: str) -> Any:
        nonlocal committed
        found = await read_order(conn, wanted)
        if wanted == order_id and found is None and not committed:
            committed = True
            await drain(demo_settings)
        return found

    monkeypatch.setattr(store_orders, "get", read_then_commit)
    got = await demo_client.get(f"{URL}/{order_id}", headers=auth("integrator"))
    if not committed:
        raise RuntimeError("the worker did not commit between the two reads: nothing tested")
    assert got.status == 200, await got.json()
    assert (await got.json())["id"] == order_id


async def test_async_error_is_kept_and_shown(
    demo_client: TestClient, demo_settings: Settings
) -> None:
    body = async_example()
    body["serviceOrderItem"][0]["service"]["serviceSpecification"]["id"] = "no-such-spec"
    status, accepted = await post_async(demo_client, body)
    assert status == 202
    await drain(demo_settings)
    got = await demo_client.get(f"{URL}/{accepted['orderId']}", headers=auth("integrator"))
    assert got.status == 200
    assert await got.json() == {
        "code": 24,
        "reason": "Invalid body field",
        "message": "Invalid body field",
        "details": [
            {
                "message": m.POST_SPECIFICATION_NOT_FOUND,
                "datapath": "/serviceOrderItem/0/service/serviceSpecification",
            }
        ],
    }


async def test_async_missing_fields_are_refused_before_queueing(demo_client: TestClient) -> None:
    body = async_example()
    del body["serviceOrderItem"]
    status, error = await post_async(demo_client, body)
    assert status == 400 and error["details"][0]["message"] == m.POST_ITEM_MISSING


async def test_unknown_mode_is_400(demo_client: TestClient) -> None:
    resp = await demo_client.post(
        URL, params={"mode": "later"}, json=async_example(), headers=auth("integrator")
    )
    assert resp.status == 400 and (await resp.json())["code"] == 28


async def test_identical_repeat_returns_first_order_id(
    demo_client: TestClient, demo_settings: Settings
) -> None:
    first = await post_async(demo_client, async_example())
    again = await post_async(demo_client, async_example())
    assert first == again and first[0] == 202
    different = async_example()
    different["description"] = "another order"
    other = await post_async(demo_client, different)
    assert other[1]["orderId"] != first[1]["orderId"]


async def test_claims_kept_under_their_old_text_keys_still_replay_after_an_upgrade(
    demo_client: TestClient, demo_database_url: str
) -> None:
    body = async_example()
    body["externalId"] = "UPGRADED-1"
    conn = await asyncpg.connect(demo_database_url)
    try:
        # A database from before migrations, whose claims were keyed by their identity.
        await conn.execute(
            "DELETE FROM idempotency_claim;"
            " ALTER TABLE idempotency_claim ALTER COLUMN key TYPE text USING key::text;"
            " DROP TABLE schema_migration"
        )
        await conn.execute(
            "INSERT INTO idempotency_claim (key, body_hash, status, response)"
            ' VALUES ($1, $2, 202, \'{"orderId": "from-before"}\')',
            f"body:UPGRADED-1:{canonical_hash(body)}",
            canonical_hash(body),
        )
        await schema.migrate(conn)
        assert await conn.fetchval("SELECT pg_typeof(key)::text FROM idempotency_claim") == "uuid"
    finally:
        await conn.close()
    assert await post_async(demo_client, body) == (202, {"orderId": "from-before"})


async def test_idempotency_key_replays_and_refuses_another_body(
    demo_client: TestClient,
) -> None:
    key = {"Idempotency-Key": "k-123"}
    body = async_example()
    body["externalId"] = "IDEM-1"
    first = await post_async(demo_client, body, key)
    assert await post_async(demo_client, body, key) == first
    body["description"] = "changed"
    status, error = await post_async(demo_client, body, key)
    assert status == 422 and error["code"] == 63


async def test_concurrent_identical_posts_create_one_entry(
    demo_client: TestClient, demo_database_url: str
) -> None:
    body = async_example()
    body["externalId"] = "CONCURRENT-1"
    results = await asyncio.gather(*(post_async(demo_client, body) for _ in range(10)))
    accepted = {r[1]["orderId"] for r in results if r[0] == 202}
    assert len(accepted) == 1
    assert all(r[0] in (202, 409) for r in results)
    conn = await asyncpg.connect(demo_database_url)
    try:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM inbound_queue WHERE payload->>'externalId' = 'CONCURRENT-1'"
            )
            == 1
        )
    finally:
        await conn.close()


async def test_cancel_and_patch_of_a_queued_order(demo_client: TestClient) -> None:
    _, accepted = await post_async(demo_client, async_example())
    order_id = accepted["orderId"]
    resp = await demo_client.patch(
        f"{URL}/{order_id}", json=async_example(), headers=auth("integrator")
    )
    assert resp.status == 400
    assert (await resp.json())["details"][0]["message"] == m.PATCH_ORDER_IN_QUEUE
    resp = await demo_client.post(
        f"{URL}/cancelserviceorder",
        json={"serviceOrder": {"id": order_id}},
        headers=auth("integrator"),
    )
    assert resp.status == 400
    assert (await resp.json())["details"][0]["message"] == m.CANCEL_ORDER_IN_QUEUE


async def test_a_body_postgresql_cannot_store_is_refused_alone(
    demo_client: TestClient, demo_database_url: str
) -> None:
    """One such request in a batch must not fail the others written with it."""
    bodies = []
    for n in range(6):
        body = async_example()
        body["externalId"] = f"nul-{n}"
        if n % 2:
            body["description"] = "a\u0000b"
        bodies.append(body)
    answers = await asyncio.gather(*(post_async(demo_client, b) for b in bodies))
    assert [status for status, _ in answers] == [202, 400] * 3
    assert all(answer["code"] == 22 for status, answer in answers if status == 400)
    conn = await asyncpg.connect(demo_database_url)
    try:
        stored = await conn.fetchval("SELECT count(*) FROM inbound_queue")
    finally:
        await conn.close()
    assert stored == 3
