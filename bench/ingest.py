"""The ingest phase: a separate load generator (bench.closedloop) POSTs `mode=async` orders at
one `orderhub serve` with no worker.

Before it, on the embedded server, the WAL is warmed up: a new cluster has no WAL files to
reuse and creates one every 16 MB, which only ingest would pay for, since the ceiling and the
drains reuse the files that ingest left. The checkpoints and the WAL each phase wrote are
counted here because both weigh on commits and so on the latency's tail.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.body import seed_body
from bench.closedloop import closed_loop, warm_up
from bench.config import Config
from bench.profiling import profile_after
from bench.progress import pct, say
from bench.servers import busy_fraction, child_pids, machine_ticks, tree_cpu_seconds

WARM_WAL_MB = 768


async def wal_bytes(conn: asyncpg.Connection[Any]) -> int:
    """The server's WAL position in bytes: the difference of two is the WAL written between."""
    return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


async def checkpoints(conn: asyncpg.Connection[Any]) -> int:
    """Checkpoints so far (timed and requested): each one makes the WAL, and commits, heavier
    for a while with full-page images, which shows in the latency's tail."""
    if await conn.fetchval("SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL"):
        query = "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
    else:
        query = "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
    count: int = await conn.fetchval(query)
    return count


async def warm_wal(conn: asyncpg.Connection[Any], megabytes: int = WARM_WAL_MB) -> dict[str, Any]:
    """Writes `megabytes` of WAL, then checkpoints, so that ingest reuses WAL files.

    A new cluster has none to reuse and creates one every 16 MB, each costing its commits a
    file's creation and a metadata flush; the ceiling, run later, reuses the WAL files that
    ingest left. Warming the WAL first puts both on the same footing, as on a server that has
    been running a while."""
    started = time.monotonic()
    before = await wal_bytes(conn)
    await conn.execute("DROP TABLE IF EXISTS bench_wal_warmup")
    await conn.execute("CREATE TABLE bench_wal_warmup (filler text)")
    await conn.execute(
        "INSERT INTO bench_wal_warmup SELECT repeat(md5(i::text), 30)"
        " FROM generate_series(1, $1) AS i",
        megabytes * 1000,
    )
    await conn.execute("DROP TABLE bench_wal_warmup")
    await conn.execute("CHECKPOINT")
    result = {
        "wal_mb": round((await wal_bytes(conn) - before) / 2**20),
        "seconds": round(time.monotonic() - started, 1),
    }
    say(f"WAL warm-up: {result['wal_mb']:,} MB written and checkpointed in {result['seconds']}s")
    return result


async def ingest(
    config: Config,
    conn: asyncpg.Connection[Any],
    base_url: str,
    api: subprocess.Popen[bytes],
    workdir: Path,
    run_id: str,
    profile_dir: Path,
) -> dict[str, Any]:
    await warm_up(base_url, seed_body(), run_id, config.api_processes)
    base_seq = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM inbound_queue")
    base_rows = await conn.fetchval("SELECT count(*) FROM inbound_queue")
    checkpoints_before = await checkpoints(conn)
    wal_before = await wal_bytes(conn)
    api_cpu_before = tree_cpu_seconds(api.pid)
    ticks_before = machine_ticks()
    profiling = None
    if config.profile and config.seconds >= 6:
        profiling = asyncio.ensure_future(
            profile_after(
                2,
                (child_pids(api.pid) or [api.pid])[0],  # the first, with several
                "api-ingest",
                min(15, config.seconds - 4),
                profile_dir,
            )
        )
    last = [time.monotonic(), 0.0]

    async def tick(elapsed: float) -> None:
        now = time.monotonic()
        stored = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM inbound_queue")
        stored -= base_seq
        rate = (stored - last[1]) / (now - last[0])
        say(f"ingest: {elapsed:5.1f}s, {stored:,} stored ({rate:,.0f}/s lately)")
        last[:] = [now, stored]

    load = await closed_loop(config, base_url, workdir, run_id, "ingest", tick)
    api_cpu_after = tree_cpu_seconds(api.pid)
    machine_busy = busy_fraction(ticks_before, machine_ticks())
    profile_summary = await profiling if profiling is not None else None
    duration = load["seconds"]
    stored = await conn.fetchval("SELECT count(*) FROM inbound_queue") - base_rows
    latency = load["latency_ms"]
    api_cpu = (
        None
        if api_cpu_before is None or api_cpu_after is None
        else round(api_cpu_after - api_cpu_before, 2)
    )
    result = {
        **load,
        "api_processes": config.api_processes,
        "rows_stored": stored,
        "api_cpu_seconds": api_cpu,
        "api_cpu_fraction": round(api_cpu / duration, 3) if api_cpu and duration else None,
        "machine_cpu_busy": machine_busy,
        "checkpoints": await checkpoints(conn) - checkpoints_before,
        "wal_mb": round((await wal_bytes(conn) - wal_before) / 2**20),
        "profile": profile_summary,
    }
    say(
        f"ingest: {load['accepted']:,} accepted in {duration:.1f}s = "
        f"{result['accepted_per_s']:,.0f}/s, "
        f"p50 {latency['p50']} ms, p99 {latency['p99']} ms, max {latency['max']} ms, "
        f"{result['errors']} errors, {stored:,} rows stored"
    )
    say(
        f"ingest: API CPU {pct(result['api_cpu_fraction'])} of one core "
        f"({config.api_processes} process(es)), "
        f"machine {pct(machine_busy)} busy, {result['checkpoints']} checkpoint(s) began, "
        f"{result['wal_mb']:,} MB of WAL"
    )
    return result
