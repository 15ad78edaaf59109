"""Operators' queue view over HTTP, under /api/orderhub/queue (tests/acceptance/test_queue_cli.py
has `orderhub queue`)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.in_process import drain, one_error_one_done, post_async
from tests.helpers.payloads import async_example

QUEUE = "/api/orderhub/queue"


async def test_queue_list_show_stats(demo_client: TestClient, demo_settings: Settings) -> None:
    failed, done = await one_error_one_done(demo_client, demo_settings)
    _, queued = await post_async(demo_client, {**async_example(), "externalId": "Q-1"})
    resp = await demo_client.get(QUEUE, headers=auth("agent"))
    assert resp.status == 200 and resp.headers["X-Total-Count"] == "3"
    states = {e["id"]: e["state"] for e in await resp.json()}
    assert states == {failed: "error", done: "done", queued["orderId"]: "queued"}
    resp = await demo_client.get(QUEUE, params={"state": "error"}, headers=auth("agent"))
    assert [e["id"] for e in await resp.json()] == [failed]
    resp = await demo_client.get(QUEUE, params={"limit": "1"}, headers=auth("agent"))
    assert resp.status == 206 and resp.headers["Content-Range"] == "items 1-1"
    resp = await demo_client.get(QUEUE, params={"state": "lost"}, headers=auth("agent"))
    assert resp.status == 400 and (await resp.json())["code"] == 28

    shown = await (await demo_client.get(f"{QUEUE}/{failed}", headers=auth("agent"))).json()
    assert shown["payload"]["externalId"] == "BSS748" and shown["attempts"] == 1
    assert shown["error"]["details"][0]["message"] == "Invalid payload: Location does not exist."
    assert (await demo_client.get(f"{QUEUE}/nope", headers=auth("agent"))).status == 404

    stats = await (await demo_client.get(f"{QUEUE}/stats", headers=auth("agent"))).json()
    assert stats["queued"] == 1 and stats["done"] == 1 and stats["error"] == 1
    assert stats["processedLastMinute"] == 2 and stats["oldestQueuedAgeSeconds"] >= 0
    assert (await demo_client.get(QUEUE, headers=auth("integrator"))).status == 403


async def test_retry_with_a_corrected_payload(
    demo_client: TestClient, demo_settings: Settings
) -> None:
    failed, done = await one_error_one_done(demo_client, demo_settings)
    resp = await demo_client.post(f"{QUEUE}/{done}/retry", headers=auth("agent"))
    assert resp.status == 400 and (await resp.json())["code"] == 62
    resp = await demo_client.post(
        f"{QUEUE}/{failed}/retry", json={"payload": async_example()}, headers=auth("agent")
    )
    assert resp.status == 200 and (await resp.json())["state"] == "queued"
    await drain(demo_settings)
    got = await demo_client.get(
        f"/api/sn_tmf_api/order/serviceOrder/{failed}", headers=auth("integrator")
    )
    assert (await got.json())["id"] == failed


async def test_housekeeping_purges_old_done_entries_and_claims(
    demo_client: TestClient, demo_settings: Settings, demo_database_url: str
) -> None:
    import asyncpg

    from workers.maintenance import purge_claims

    failed, done = await one_error_one_done(demo_client, demo_settings)
    conn = await asyncpg.connect(demo_database_url)
    try:
        await conn.execute("UPDATE inbound_processed SET processed_at = now() - interval '8 days'")
        await conn.execute("UPDATE idempotency_claim SET created_at = now() - interval '25 hours'")
        pool = await asyncpg.create_pool(demo_database_url, min_size=1, max_size=1)
        try:
            purged = await purge_claims({"pool": pool, "settings": demo_settings})
        finally:
            await pool.close()
        left = {
            r["id"]: r["state"] for r in await conn.fetch("SELECT id, state FROM inbound_processed")
        }
        assert left == {failed: "error"}
        assert await conn.fetchval("SELECT count(*) FROM idempotency_claim") == 0
        assert purged >= 1 + 2
        # The order of the purged entry is still there.
        assert (
            await conn.fetchval("SELECT count(*) FROM service_order WHERE sys_id = $1", done) == 1
        )
    finally:
        await conn.close()
