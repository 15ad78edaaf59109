"""The drains: one `orderhub worker`, then two, each for at most BENCH_DRAIN_SECONDS.

One worker drains what ingest queued. What it left is removed and a fresh backlog is inserted
with SQL for the two workers, so that their window starts full and measures the workers
rather than what the first window happened to leave. The rate counts from the first order a
window created to the last, so that worker start-up is not in it.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import asyncpg

from app.cli.database import DEMO_USER
from bench.body import seed_body
from bench.config import Config
from bench.profiling import profile_after
from bench.progress import pct, say
from bench.servers import Processes, Servers, busy_fraction, cpu_seconds, machine_ticks, stop_async

MIN_SQL_ENTRIES = 2_000
MAX_SQL_ENTRIES = 100_000

PHASE_STATS = """
SELECT count(*) FILTER (WHERE state = 'done') AS done,
       count(*) FILTER (WHERE state = 'error') AS error,
       min(processed_at) AS first, max(processed_at) AS last
  FROM inbound_processed WHERE processed_at >= $1
"""
FIRST_ERROR = """
SELECT error FROM inbound_processed WHERE processed_at >= $1 AND state = 'error' LIMIT 1
"""
INSERT_QUEUED = """
INSERT INTO inbound_queue (id, payload, created_by, request_id, enqueued_at)
SELECT replace(gen_random_uuid()::text, '-', ''),
       jsonb_set($1::jsonb, '{externalId}', to_jsonb($2::text || '-sql-' || g)),
       $3, $2::text || '-sql-' || g, '-infinity'
  FROM generate_series(1, $4::int) AS g
"""


async def drain(
    config: Config,
    conn: asyncpg.Connection[Any],
    procs: Processes,
    workers: int,
    profile_dir: Path,
) -> dict[str, Any]:
    queued = await conn.fetchval("SELECT count(*) FROM inbound_queue")
    phase_start = await conn.fetchval("SELECT clock_timestamp()")
    say(f"drain: starting {workers} worker(s) on {queued:,} queued entries")
    names = [f"worker{workers}-{n}" for n in range(1, workers + 1)]
    started = time.monotonic()
    running = [procs.start(name, "worker") for name in names]
    cpu_before = [cpu_seconds(p.pid) for p in running]
    ticks_before = machine_ticks()
    profiling = None
    if config.profile and config.drain_seconds >= 8:
        profiling = asyncio.ensure_future(
            profile_after(
                3,
                running[0].pid,
                f"worker-{workers}w",
                min(15, config.drain_seconds - 5),
                profile_dir,
            )
        )
    processed = 0
    left = queued
    cpu_after: list[float | None] = []
    try:
        while time.monotonic() - started < config.drain_seconds:
            remaining = config.drain_seconds - (time.monotonic() - started)
            await asyncio.sleep(max(0.1, min(2.0, remaining)))
            for name, process in zip(names, running, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}:\n{procs.tail(name)}"
                    )
            processed = await conn.fetchval(
                "SELECT count(*) FROM inbound_processed WHERE processed_at >= $1", phase_start
            )
            left = await conn.fetchval("SELECT count(*) FROM inbound_queue")
            elapsed = time.monotonic() - started
            say(f"drain {workers}w: {elapsed:5.1f}s, {processed:,} processed, {left:,} queued")
            if left == 0:
                break
    finally:
        cpu_after = [cpu_seconds(p.pid) for p in running]
        machine_busy = busy_fraction(ticks_before, machine_ticks())
        wall = time.monotonic() - started
        for process in running:
            await stop_async(procs, process)
    # py-spy ends by itself when its process stops.
    profile_summary = await profiling if profiling is not None else None
    row = await conn.fetchrow(PHASE_STATS, phase_start)
    assert row is not None
    count = row["done"] + row["error"]
    span = (row["last"] - row["first"]).total_seconds() if count > 1 else 0.0
    rate = round((count - 1) / span, 1) if span > 0 else 0.0
    first_error = await conn.fetchval(FIRST_ERROR, phase_start) if row["error"] else None
    cpu = [
        round(a - b, 2) if a is not None and b is not None else None
        for a, b in zip(cpu_after, cpu_before, strict=True)
    ]
    result = {
        "workers": workers,
        "queued_at_start": queued,
        "window_seconds": config.drain_seconds,
        "wall_seconds": round(wall, 2),
        "processed": count,
        "done": row["done"],
        "error": row["error"],
        "left_queued": await conn.fetchval("SELECT count(*) FROM inbound_queue"),
        "orders_per_s": rate,
        "orders_per_s_wall": round(count / wall, 1) if wall else 0.0,
        "busy_seconds": round(span, 2),
        "worker_cpu_seconds": cpu,
        "machine_cpu_busy": machine_busy,
        "first_error": first_error,
        "profile": profile_summary,
    }
    say(
        f"drain {workers}w: {count:,} orders ({row['done']:,} done, {row['error']:,} error) "
        f"in {span:.1f}s = {rate:,.0f} orders/s; {result['left_queued']:,} still queued"
    )
    say(
        f"drain {workers}w: worker CPU seconds {cpu} in {wall:.1f}s, "
        f"machine {pct(machine_busy)} busy"
    )
    if first_error:
        say(f"drain {workers}w: first error: {str(first_error)[:300]}")
    return result


async def clear_queue(conn: asyncpg.Connection[Any], servers: Servers) -> int:
    """Drops what the 1-worker window left, rows and arq jobs, so that the 2-worker window
    drains only its own fresh entries."""
    import redis.asyncio as aioredis

    ids = [r["id"] for r in await conn.fetch("DELETE FROM inbound_queue RETURNING id")]
    client = aioredis.from_url(servers.redis_url)  # type: ignore[no-untyped-call]
    try:
        await client.delete(servers.queue_name, servers.queue_name + ":health-check")
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            keys = [
                f"arq:{kind}:{queue_id}"
                for queue_id in chunk
                for kind in ("job", "in-progress", "retry", "result")
            ]
            await client.delete(*keys)
    finally:
        await client.aclose()
    return len(ids)


def fresh_entries(one_worker_rate: float, drain_seconds: int) -> int:
    """Enough entries that two workers at twice one worker's rate do not run dry within the
    window, within bounds that keep the insert itself short."""
    size = int(one_worker_rate * 2 * drain_seconds * 1.25)
    return max(MIN_SQL_ENTRIES, min(MAX_SQL_ENTRIES, size))


async def queue_fresh(conn: asyncpg.Connection[Any], count: int, run_id: str) -> tuple[int, float]:
    """Copies of the body with fresh ids and externalIds, `enqueued_at = '-infinity'`, so
    that the sweeper enqueues them when the workers start."""
    body = json.dumps(seed_body())
    started = time.monotonic()
    await conn.execute(INSERT_QUEUED, body, run_id, DEMO_USER[0], count)
    await conn.execute("ANALYZE inbound_queue")
    return count, time.monotonic() - started
