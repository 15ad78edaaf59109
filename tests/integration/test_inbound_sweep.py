"""After a Redis loss, one sweep run hands back the whole backlog it finds (within its time
budget), not one batch: recovery goes at the workers' pace, not at a batch per run."""

from __future__ import annotations

import asyncpg

from app.services.jobs import connect, deserialize
from app.settings import Settings
from workers.inbound import SWEEP_BATCH, sweep_inbound

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
        enqueued = await sweep_inbound({"settings": settings, "pool": pool, "redis": redis})
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
        assert await sweep_inbound({"settings": settings, "pool": pool, "redis": redis}) == 0
    finally:
        await redis.delete(
            settings.orderhub_queue_name, *[f"arq:job:{j.decode()}" for j in job_ids]
        )
        await redis.aclose(close_connection_pool=True)
