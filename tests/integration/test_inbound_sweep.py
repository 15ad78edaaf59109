"""After a Redis loss, one sweep run hands back the whole backlog it finds (within its time
budget), not one batch: recovery goes at the workers' pace, not at a batch per run."""

from __future__ import annotations

import time

import asyncpg
from arq.constants import in_progress_key_prefix

from app.services.jobs import connect, deserialize
from app.settings import Settings
from workers.inbound import SWEEP_BATCH, sweep_inbound

# Long enough for a whole backlog on a busy machine; a run stops sooner when none is due.
BUDGET = 120.0
# While jobs wait, a run hands back nothing and looks again until its budget is spent.
SHORT = 0.5

QUEUE_ROWS = """
INSERT INTO inbound_queue (id, payload, created_by, enqueued_at)
SELECT md5('lost' || g), '{}', 'crm', '-infinity' FROM generate_series(1, $1::int) AS g
"""


async def test_one_run_re_enqueues_a_backlog_larger_than_a_batch(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    backlog = 2 * SWEEP_BATCH + 321
    async with pool.acquire() as conn:
        await conn.execute(QUEUE_ROWS, backlog)
    redis = connect(settings.redis_url, settings.orderhub_queue_name)
    try:
        ctx = {"settings": settings, "pool": pool, "redis": redis}
        enqueued = await sweep_inbound(ctx, BUDGET)
        assert enqueued == backlog
        job_ids = await redis.zrange(settings.orderhub_queue_name, 0, -1)
        swept: set[str] = set()
        for job_id in job_ids:
            raw = await redis.get(f"arq:job:{job_id.decode()}")
            swept.update(deserialize(raw)["a"][0])
        async with pool.acquire() as conn:
            queued = {r["id"] for r in await conn.fetch("SELECT id FROM inbound_queue")}
            stale = await conn.fetchval(
                "SELECT count(*) FROM inbound_queue WHERE enqueued_at = '-infinity'"
            )
        assert swept == queued and stale == 0
        # Nothing is due any more: a second run finds nothing to hand back.
        assert await sweep_inbound(ctx, BUDGET) == 0
    finally:
        await redis.delete(
            settings.orderhub_queue_name, *[f"arq:job:{j.decode()}" for j in job_ids]
        )
        await redis.aclose(close_connection_pool=True)


async def test_entries_whose_jobs_wait_are_not_handed_back_again(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    """In a backlog deeper than the threshold, entries come due while their jobs only wait:
    the sweeper leaves them until those jobs have started. A started job whose worker was
    killed keeps its in-progress key; its entries are handed back then."""
    backlog = 250
    async with pool.acquire() as conn:
        await conn.execute(QUEUE_ROWS, backlog)
    queue = settings.orderhub_queue_name
    redis = connect(settings.redis_url, queue)
    ctx = {"settings": settings, "pool": pool, "redis": redis}
    try:
        assert await sweep_inbound(ctx, BUDGET) == backlog
        # A minute later, with no worker: the entries are due again, their jobs still wait.
        job_ids = [j.decode() for j in await redis.zrange(queue, 0, -1)]
        await redis.zadd(queue, {j: (time.time() - 60) * 1000 for j in job_ids})
        async with pool.acquire() as conn:
            await conn.execute("UPDATE inbound_queue SET enqueued_at = '-infinity'")
        assert await sweep_inbound(ctx, SHORT) == 0

        await redis.set(in_progress_key_prefix + job_ids[0], b"1")
        assert await sweep_inbound(ctx, SHORT) == 0  # the other jobs still wait

        for job_id in job_ids[1:]:
            await redis.set(in_progress_key_prefix + job_id, b"1")
        assert await sweep_inbound(ctx, BUDGET) == backlog
    finally:
        await redis.aclose(close_connection_pool=True)
