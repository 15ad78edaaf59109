"""The capacity phase: the API and two workers together under ingest's closed-loop load, as
users run OrderHub, then the drain of what the load left.

Ingest alone says how fast orders are accepted; a queue that takes orders faster than the
workers make them only grows. Here both run at once, sharing the machine, and the figure is
orders processed per second over the same window as the load, read from the database
(inbound_processed.processed_at), with the backlog sampled every second to tell whether it grew.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.backlog import SAMPLE_EVERY, BacklogSampler, db_now, depth, per_transaction
from bench.closedloop import closed_loop
from bench.config import (
    CAPACITY_WORKERS,
    FLAT_SHARE,
    TARGET_CAPACITY_RATIO,
    TARGET_P99_MS,
)
from bench.cpu import CpuWindow, cores_text
from bench.memory import RssSampler
from bench.progress import say
from bench.report import Row, fmt, met
from bench.stack import Bench, Stack, running
from bench.stats import is_flat

PROCESSED_BETWEEN = """
SELECT count(*) AS processed, count(*) FILTER (WHERE state = 'error') AS error
  FROM inbound_processed WHERE processed_at BETWEEN $1 AND $2
"""


async def drain_left(bench: Bench, stack: Stack, sampler: BacklogSampler) -> dict[str, Any]:
    """After the load: the API idle, the workers on what is left, for at most
    BENCH_DRAIN_SECONDS."""
    conn = bench.conn
    first = await db_now(conn)
    began = time.monotonic()
    left_at_start = sampler.latest or 0
    say(
        f"capacity: draining the {left_at_start:,} entries left, "
        f"at most {bench.config.drain_seconds}s"
    )
    shown = began
    while time.monotonic() - began < bench.config.drain_seconds:
        stack.check()
        await asyncio.sleep(SAMPLE_EVERY)
        if sampler.latest == 0:
            break
        if time.monotonic() - shown >= 5:
            shown = time.monotonic()
            say(f"capacity: drain {shown - began:5.1f}s, {fmt(sampler.latest)} queued")
    seconds = time.monotonic() - began
    row = await conn.fetchrow(PROCESSED_BETWEEN, first, await db_now(conn))
    assert row is not None
    result = {
        "queued_at_start": left_at_start,
        "seconds": round(seconds, 2),
        "processed": row["processed"],
        "orders_per_s": round(row["processed"] / seconds, 1) if seconds else 0.0,
        "left_queued": await depth(conn),
    }
    say(
        f"capacity: drained {row['processed']:,} in {seconds:.1f}s = "
        f"{result['orders_per_s']:,.0f}/s; {result['left_queued']:,} still queued"
    )
    return result


async def capacity(bench: Bench, ceiling_tps: float | None) -> dict[str, Any]:
    conn = bench.conn
    config = bench.config
    async with running(bench, "capacity", CAPACITY_WORKERS) as stack:
        sampler = BacklogSampler(bench.servers.dsn)
        rss = RssSampler(stack.pids)
        cpu = CpuWindow(
            {"api": stack.group("api"), "workers": stack.group("worker")},
            bench.postgres_pid,
            bench.servers.redis_url,
        )
        async with rss.running(), sampler.running():
            first = await db_now(conn)

            async def tick(elapsed: float) -> None:
                stack.check()
                done = await conn.fetchval(
                    "SELECT count(*) FROM inbound_processed WHERE processed_at >= $1", first
                )
                say(f"capacity: {elapsed:5.1f}s, {done:,} processed, backlog {fmt(sampler.latest)}")

            await cpu.start()
            began = time.monotonic()
            load = await closed_loop(
                config, bench.base_url, bench.workdir, f"{bench.run_id}-cap", "capacity", tick
            )
            ended = time.monotonic()
            last = await db_now(conn)
            await cpu.stop()
            row = await conn.fetchrow(PROCESSED_BETWEEN, first, last)
            assert row is not None
            batch = await per_transaction(conn, first, last)
            window = (last - first).total_seconds()
            backlog = sampler.growth(began, ended)
            drained = await drain_left(bench, stack, sampler)
    processed_per_s = round(row["processed"] / window, 1) if window else 0.0
    result = {
        **load,
        "api_processes": config.api_processes,
        "workers": CAPACITY_WORKERS,
        "window_seconds": round(window, 2),
        "load_wall_seconds": round(ended - began, 2),
        "processed": row["processed"],
        "processed_error": row["error"],
        "processed_per_s": processed_per_s,
        "entries_per_worker_transaction": batch,
        "ratio_to_ceiling": round(processed_per_s / ceiling_tps, 3) if ceiling_tps else None,
        "backlog": backlog,
        "backlog_flat": is_flat(backlog["slope_per_s"] or 0.0, load["accepted_per_s"], FLAT_SHARE),
        "cpu_seconds": cpu.seconds,
        "machine_cpu_busy": cpu.machine_busy,
        "drain_after": drained,
        "rss_mb": {"peak": rss.peak, "last": rss.last},
    }
    lat = load["latency_ms"]
    say(
        f"capacity: {load['accepted_per_s']:,.0f} accepted/s, {processed_per_s:,.0f} processed/s "
        f"over {window:.1f}s; 202 p50 {lat['p50']} / p99 {lat['p99']} ms; backlog "
        f"{backlog['start']} -> {backlog['end']} ({backlog['slope_per_s']:+,.0f}/s)"
    )
    say(f"capacity: {cores_text(cpu.seconds, ended - began)}, machine busy {cpu.machine_busy}")
    return result


def capacity_rows(result: dict[str, Any]) -> list[Row]:
    lat = result["latency_ms"]
    backlog = result["backlog"]
    ratio = result["ratio_to_ceiling"]
    ratio_ok = ratio is not None and ratio >= TARGET_CAPACITY_RATIO
    after = result["drain_after"]
    wall = result["load_wall_seconds"]
    cores = {
        k: round(v / wall, 2) for k, v in result["cpu_seconds"].items() if v is not None and wall
    }
    return [
        ("generator, connections", f"{result['generator']}, {result['concurrency']}", ""),
        (
            "API processes + workers",
            f"{result['api_processes']} + {result['workers']}",
            f"{result['seconds']:.1f} s of load",
        ),
        ("accepted/s", fmt(result["accepted_per_s"], 1), f"{fmt(result['errors'])} errors"),
        (
            "processed/s (same window)",
            fmt(result["processed_per_s"], 1),
            f"{result['processed_error']:,} in error; "
            f"{fmt(result['entries_per_worker_transaction'], 1)} entries per worker transaction",
        ),
        (
            "ratio processed/ceiling",
            "-" if ratio is None else f"{ratio:.2f}x",
            f">= {TARGET_CAPACITY_RATIO}x ({met(ratio_ok)})",
        ),
        (
            "backlog start -> end (slope/s)",
            f"{fmt(backlog['start'])} -> {fmt(backlog['end'])} ({fmt(backlog['slope_per_s'])})",
            f"flat ({met(result['backlog_flat'])})",
        ),
        (
            "202 p50 / p99 ms",
            f"{lat['p50']:.1f} / {lat['p99']:.1f}",
            f"p99 <= {TARGET_P99_MS:.0f} ms ({met(lat['p99'] <= TARGET_P99_MS)})",
        ),
        (
            "cores busy during load",
            ", ".join(f"{k} {v}" for k, v in cores.items()),
            f"machine {fmt((result['machine_cpu_busy'] or 0) * 100)}% busy",
        ),
        (
            "drain after: orders/s",
            fmt(after["orders_per_s"], 1),
            f"{fmt(after['processed'])} in {after['seconds']:.0f} s, "
            f"{fmt(after['left_queued'])} left",
        ),
    ]
