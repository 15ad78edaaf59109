"""The accept writer: several writers at once, entries naming an inventory kept in order."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from app.domain.claims import claims_for
from app.domain.ids import new_sys_id
from app.domain.inbound import NewEntry, Queued, Replay
from app.services import inbound_accept
from app.services.inbound_accept import AcceptWriter
from app.services.jobs import connect
from app.settings import Settings
from app.store import db
from tests.test_async_ingest import async_example


def _entry(refs: list[str], external_id: str | None = None) -> NewEntry:
    payload: dict[str, Any] = async_example()
    payload["externalId"] = external_id or new_sys_id()
    claims = claims_for(payload, user="integrator", idempotency_key=None)
    order_id = new_sys_id()
    answer = (202, {"orderId": order_id})
    return NewEntry(order_id, payload, "integrator", None, refs, claims, answer)


def _waiting(writer: AcceptWriter, entries: list[NewEntry]) -> None:
    loop = asyncio.get_running_loop()
    writer._pending.extend((e, loop.create_future()) for e in entries)


async def test_ordered_entries_wait_while_another_batch_holds_some() -> None:
    writer = AcceptWriter(pool=None, redis=None)  # type: ignore[arg-type]
    first, second = _entry(["inv-1"]), _entry(["inv-2"])
    plain = [_entry([]) for _ in range(3)]
    _waiting(writer, [plain[0], first, plain[1], second, plain[2]])

    batch, ordered = writer._take()
    assert ordered and [e for e, _ in batch] == [plain[0], first, plain[1], second, plain[2]]

    third, fourth = _entry(["inv-1"]), _entry(["inv-3"])
    more = _entry([])
    _waiting(writer, [third, more, fourth])
    batch, ordered = writer._take()
    assert not ordered and [e for e, _ in batch] == [more]
    assert [e for e, _ in writer._pending] == [third, fourth]

    writer._ordered_in_flight = False  # the first batch committed
    batch, ordered = writer._take()
    assert ordered and [e for e, _ in batch] == [third, fourth]


async def test_batches_stop_at_the_largest_size() -> None:
    writer = AcceptWriter(pool=None, redis=None)  # type: ignore[arg-type]
    entries = [_entry([]) for _ in range(510)]
    _waiting(writer, entries)
    batch, _ = writer._take()
    assert [e for e, _ in batch] == entries[:500]
    assert [e for e, _ in writer._pending] == entries[500:]


async def test_concurrent_submits_are_stored_once_each_and_in_order_per_inventory(
    settings: Settings, pool: asyncpg.Pool
) -> None:
    redis = connect(settings.redis_url, settings.orderhub_queue_name)
    writer = AcceptWriter(pool, redis, writers=3)
    entries = [_entry(["inv-1"] if i % 3 == 0 else []) for i in range(300)]
    repeat = _entry([], external_id=entries[1].payload["externalId"])
    repeat.payload = entries[1].payload
    repeat.claims = entries[1].claims
    try:
        submitted = []
        for n, entry in enumerate(entries):  # in waves, so that batches overlap
            submitted.append(asyncio.create_task(writer.submit(entry)))
            if n % 7 == 6:
                await asyncio.sleep(0.001)
        outcomes = await asyncio.gather(*submitted)
        repeated = await writer.submit(repeat)
    finally:
        await writer.close()
        await redis.aclose()

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
    batches = [[_entry([]) for _ in range(30)] for _ in range(3)]
    try:
        for batch in batches:  # three commits a few milliseconds apart
            _waiting(writer, batch)
            waiting, _ = writer._take()
            writer._answer(waiting, [Queued(entry.id) for entry in batch])
            await asyncio.sleep(0.005)
        await writer.close()
        jobs = await redis.queued_jobs(queue_name=settings.orderhub_queue_name)
    finally:
        await redis.aclose()
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
        by_external, by_sys_id, plain = _entry(["PI-MFW-0001"]), _entry([sys_id]), _entry([])
        for entry in (by_external, by_sys_id, plain):
            await writer.submit(entry)
        await writer.close()
        async with pool.acquire() as conn:
            rows = await conn.fetch("SELECT id, inventory_keys FROM inbound_queue")
    finally:
        await redis.aclose()
        await pool.close()
    keys = {r["id"]: r["inventory_keys"] for r in rows}
    assert keys[by_external.id] == ["PI-MFW-0001", sys_id]
    assert keys[by_sys_id.id] == [sys_id, sys_id]
    assert keys[plain.id] == []
