"""The accept writer: several writers at once, entries naming an inventory kept in order."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from app.domain.inbound import Queued, Replay
from app.services import inbound_accept
from app.services.inbound_accept import AcceptWriter
from app.services.jobs import connect
from app.settings import Settings
from app.store import db
from tests.helpers.accept_writer import new_entry, put_waiting


async def test_concurrent_submits_are_stored_once_each_and_in_order_per_inventory(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    redis = connect(settings.redis_url, settings.orderhub_queue_name)
    writer = AcceptWriter(pool, redis, writers=3)
    entries = [new_entry(["inv-1"] if i % 3 == 0 else []) for i in range(300)]
    repeat = new_entry([], external_id=entries[1].payload["externalId"])
    repeat.payload = entries[1].payload
    repeat.claims = entries[1].claims
    try:
        submitted = []
        for n, entry in enumerate(entries):  # in waves, so that batches overlap
            submitted.append(asyncio.create_task(writer.submit(entry)))
            if n % 7 == 6:
                # The behaviour under test: submits spaced a little, not a wait for anything.
                await asyncio.sleep(0.001)
        outcomes = await asyncio.gather(*submitted)
        repeated = await writer.submit(repeat)
    finally:
        await writer.close()
        await redis.aclose(close_connection_pool=True)  # connect() hands it a pool of its own

    assert outcomes == [Queued(e.id) for e in entries]
    assert repeated == Replay(202, {"orderId": entries[1].id})
    async with pool.acquire() as conn:
        stored = await conn.fetch("SELECT id, inventory_keys FROM inbound_queue ORDER BY seq")
    assert sorted(r["id"] for r in stored) == sorted(e.id for e in entries)
    ordered = [r["id"] for r in stored if "inv-1" in r["inventory_keys"]]
    assert ordered == [e.id for e in entries if e.refs]


async def test_ids_accepted_close_together_are_enqueued_as_one_job(
    settings: Settings, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbound_accept, "ENQUEUE_LINGER", 0.2)
    redis = connect(settings.redis_url, settings.orderhub_queue_name)
    writer = AcceptWriter(pool, redis)
    batches = [[new_entry([]) for _ in range(30)] for _ in range(3)]
    try:
        for batch in batches:  # three commits a few milliseconds apart
            put_waiting(writer, batch)
            waiting, _ = writer._take()
            writer._answer(waiting, [Queued(entry.id) for entry in batch])
            # The behaviour under test: commits a few milliseconds apart (within the linger).
            await asyncio.sleep(0.005)
        await writer.close()
        jobs = await redis.queued_jobs(queue_name=settings.orderhub_queue_name)
    finally:
        await redis.aclose(close_connection_pool=True)  # connect() hands it a pool of its own
    assert len(jobs) == 1
    assert sorted(jobs[0].args[0]) == sorted(e.id for batch in batches for e in batch)


async def test_inventory_keys_hold_the_refs_and_the_sys_ids_they_name(
    demo_settings: Settings,
) -> None:
    pool = await db.create_pool(demo_settings.database_url)
    redis = connect(demo_settings.redis_url, demo_settings.orderhub_queue_name)
    writer = AcceptWriter(pool, redis)
    try:
        async with pool.acquire() as conn:
            sys_id = await conn.fetchval(
                "SELECT sys_id FROM product_inventory WHERE external_id = 'PI-MFW-0001'"
            )
        by_external, by_sys_id, plain = (
            new_entry(["PI-MFW-0001"]),
            new_entry([sys_id]),
            new_entry([]),
        )
        for entry in (by_external, by_sys_id, plain):
            await writer.submit(entry)
        await writer.close()
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT id, inventory_keys FROM inbound_queue")
    finally:
        await redis.aclose(close_connection_pool=True)  # connect() hands it a pool of its own
        await pool.close()
    keys = {r["id"]: r["inventory_keys"] for r in rows}
    assert keys[by_external.id] == ["PI-MFW-0001", sys_id]
    assert keys[by_sys_id.id] == [sys_id, sys_id]
    assert keys[plain.id] == []
