"""The inbound queue's backlog: measured while a phase runs, removed between phases, and made
fresh for the drains.

Each phase starts on an empty, vacuumed queue so that its figures are its own (ingest, with
no worker, leaves every entry it accepted). A fresh backlog is fed to the workers as the API
feeds them: rows in inbound_queue, then one arq job per 100 ids with the first id as the job's
id (app/services/inbound_accept.py), not left for the sweeper.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from app.cli.database import DEMO_USER
from app.services.jobs import PROCESS_INBOUND, chunks, close, connect
from bench.body import seed_body
from bench.servers import Servers
from bench.stats import slope

SAMPLE_EVERY = 1.0

# Copies of the seed body with fresh ids and externalIds. enqueued_at is now, `$5` seconds ago:
# with 0, as for an entry the API accepts, the sweeper leaves them to their jobs; older than
# ORDERHUB_SWEEP_AFTER_SECONDS, they are entries whose jobs Redis lost.
INSERT_FRESH = """
INSERT INTO inbound_queue (id, payload, created_by, request_id, enqueued_at)
SELECT replace(gen_random_uuid()::text, '-', ''),
       jsonb_set($1::jsonb, '{externalId}', to_jsonb($2::text || '-sql-' || g)),
       $3, $2::text || '-sql-' || g, clock_timestamp() - make_interval(secs => $5)
  FROM generate_series(1, $4::int) AS g
"""


async def depth(conn: asyncpg.Connection[Any]) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM inbound_queue")
    return count


async def db_now(conn: asyncpg.Connection[Any]) -> Any:
    """The server's clock: windows are compared with received_at and processed_at, which it
    stamps."""
    return await conn.fetchval("SELECT clock_timestamp()")


PER_TRANSACTION = """
SELECT round((count(*)::numeric / nullif(count(DISTINCT xmin::text), 0)), 1)::float8
  FROM inbound_processed WHERE processed_at BETWEEN $1 AND $2
"""


async def per_transaction(conn: asyncpg.Connection[Any], first: Any, last: Any) -> float | None:
    """Entries per worker transaction among those processed between two server times (the
    rows one transaction moved share its xmin): a job's cost is largely fixed, so jobs of a
    few entries each make every order dearer than jobs of a hundred."""
    value: float | None = await conn.fetchval(PER_TRANSACTION, first, last)
    return value


async def clear_queue(conn: asyncpg.Connection[Any], servers: Servers) -> int:
    """Deletes every queued entry and its arq job, then vacuums the queue, so that the next
    phase drains only its own entries over a table without the last one's dead rows. Only
    while no worker runs."""
    from app.services import jobs

    ids = [r["id"] for r in await conn.fetch("DELETE FROM inbound_queue RETURNING id")]
    client = jobs.client(servers.redis_url)
    try:
        await client.delete(servers.queue_name, servers.queue_name + ":health-check")
        for start in range(0, len(ids), 1000):
            keys = [
                f"arq:{kind}:{queue_id}"
                for queue_id in ids[start : start + 1000]
                for kind in ("job", "in-progress", "retry", "result")
            ]
            await client.delete(*keys)
    finally:
        await jobs.close(client)
    await conn.execute("VACUUM (ANALYZE) inbound_queue")
    return len(ids)


async def insert_fresh(
    conn: asyncpg.Connection[Any], count: int, tag: str, *, age: float = 0.0
) -> list[str]:
    """`count` queued entries inserted with SQL, last enqueued `age` seconds ago; their ids in
    arrival (seq) order."""
    await conn.execute(INSERT_FRESH, json.dumps(seed_body()), tag, DEMO_USER[0], count, age)
    await conn.execute("ANALYZE inbound_queue")
    rows = await conn.fetch("SELECT id FROM inbound_queue ORDER BY seq")
    return [row["id"] for row in rows]


async def enqueue_like_api(servers: Servers, ids: list[str]) -> int:
    """One process_inbound job per 100 ids, job id = the first id, as AcceptWriter._enqueue
    does after a commit; the number of jobs."""
    redis = connect(servers.redis_url, servers.queue_name)
    jobs = 0
    try:
        for chunk in chunks(ids):
            if await redis.enqueue_job(PROCESS_INBOUND, chunk, _job_id=chunk[0]) is not None:
                jobs += 1
    finally:
        await close(redis)
    return jobs


class BacklogSampler:
    """inbound_queue's row count every second on a connection of its own, so that a phase
    can tell whether the backlog grew (the slope of a fit, in rows per second)."""

    def __init__(self, dsn: str, every: float = SAMPLE_EVERY) -> None:
        self._dsn = dsn
        self._every = every
        self._started = time.monotonic()
        self.points: list[tuple[float, int]] = []

    @property
    def latest(self) -> int | None:
        return self.points[-1][1] if self.points else None

    def window(self, since: float, until: float | None = None) -> list[tuple[float, int]]:
        """Samples taken between two monotonic times, as (seconds since `since`, rows)."""
        end = float("inf") if until is None else until
        return [(t - since, n) for t, n in self.points if since <= t <= end]

    def growth(self, since: float, until: float | None = None) -> dict[str, Any]:
        """Start, end, peak and slope (rows/s) of the backlog between two monotonic times."""
        points = self.window(since, until)
        if not points:
            return {"start": None, "end": None, "max": None, "slope_per_s": None, "samples": 0}
        return {
            "start": points[0][1],
            "end": points[-1][1],
            "max": max(n for _, n in points),
            "slope_per_s": round(slope([(float(t), float(n)) for t, n in points]), 1),
            "samples": len(points),
        }

    async def _loop(self, conn: asyncpg.Connection[Any]) -> None:
        while True:
            began = time.monotonic()
            self.points.append((began, await depth(conn)))
            await asyncio.sleep(max(0.0, self._every - (time.monotonic() - began)))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[BacklogSampler]:
        conn = await asyncpg.connect(self._dsn)
        task = asyncio.create_task(self._loop(conn))
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                self.points.append((time.monotonic(), await depth(conn)))
            await conn.close()
