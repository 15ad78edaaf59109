"""The drain phase: 1, 2 and then 4 workers, each on the same fresh backlog, with no API.

Each window gets the same number of entries, inserted with SQL while its workers wait idle,
then its jobs enqueued as the API enqueues them (bench.backlog.enqueue_like_api), so that the
windows differ only by their worker count and measure the workers rather than the sweeper or
what an earlier phase left. The rate counts from the first order a window created to the last.
The workers', PostgreSQL's and Redis's CPU over each window say where the limit is: a
worker count that adds no orders/s while PostgreSQL's share grows is bound by the database
(or by the cores they share).

The backlog is sized from a short probe (one worker on PROBE_ENTRIES) so that one worker needs
about WINDOW_SHARE of a window (BENCH_DRAIN_SECONDS) for it: each window then most likely
empties the queue, and with the default window the phase stays near 90 s even when more
workers add nothing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench.backlog import (
    clear_queue,
    db_now,
    depth,
    enqueue_like_api,
    insert_fresh,
    per_transaction,
)
from bench.config import DRAIN_WORKERS, TARGET_DRAIN_2, TARGET_DRAIN_SCALING
from bench.cpu import CpuWindow, cores, cores_text
from bench.memory import RssSampler
from bench.profiling import profile_after
from bench.progress import say
from bench.report import Row, fmt, met
from bench.stack import Bench, Stack

PROBE_ENTRIES = 5_000
WINDOW_SHARE = 0.75
MIN_ENTRIES = 2_000
MAX_ENTRIES = 100_000
POLL_EVERY = 0.5
SAY_EVERY = 5.0

PHASE_STATS = """
SELECT count(*) FILTER (WHERE state = 'done') AS done,
       count(*) FILTER (WHERE state = 'error') AS error,
       min(processed_at) AS first, max(processed_at) AS last
  FROM inbound_processed WHERE processed_at >= $1
"""
FIRST_ERROR = """
SELECT error FROM inbound_processed WHERE processed_at >= $1 AND state = 'error' LIMIT 1
"""


def backlog_size(one_worker_rate: float, window_seconds: float) -> int:
    """Entries one worker at `one_worker_rate` drains in WINDOW_SHARE of a window, so that it
    empties the queue within the window even if the probe ran fast; within bounds that keep
    the insert short and the rate meaningful."""
    seconds = WINDOW_SHARE * window_seconds
    return max(MIN_ENTRIES, min(MAX_ENTRIES, int(one_worker_rate * seconds)))


async def _watch(bench: Bench, stack: Stack, label: str, began: float, seconds: float) -> None:
    """Until the queue is empty or the window is over."""
    shown = began
    while time.monotonic() - began < seconds:
        await asyncio.sleep(POLL_EVERY)
        stack.check()
        left = await depth(bench.conn)
        if left == 0:
            return
        if time.monotonic() - shown >= SAY_EVERY:
            shown = time.monotonic()
            say(f"{label}: {shown - began:5.1f}s, {left:,} queued")


async def window(
    bench: Bench,
    workers: int,
    entries: int,
    label: str,
    *,
    phase: str = "drain",
    seconds: float | None = None,
) -> dict[str, Any]:
    """`workers` workers on `entries` fresh entries fed as the API feeds them, until the queue
    is empty or `seconds` (BENCH_DRAIN_SECONDS by default) have passed."""
    conn = bench.conn
    window_seconds = bench.config.drain_seconds if seconds is None else seconds
    cleared = await clear_queue(conn, bench.servers)
    stack = Stack(bench, phase)
    rss = RssSampler(stack.pids)
    profiling: asyncio.Future[dict[str, Any] | None] | None = None
    try:
        async with rss.running():
            await stack.start_workers(workers, prefix=f"worker{label}-")
            ids = await insert_fresh(conn, entries, f"{bench.run_id}-{label}")
            cpu = CpuWindow(
                {"workers": stack.group("worker")}, bench.postgres_pid, bench.servers.redis_url
            )
            phase_start = await db_now(conn)
            await cpu.start()
            began = time.monotonic()
            jobs = await enqueue_like_api(bench.servers, ids)
            say(f"{phase} {label}: {len(ids):,} entries inserted, {jobs:,} jobs enqueued")
            if bench.config.profile and window_seconds >= 8:
                profiling = asyncio.ensure_future(
                    profile_after(
                        1,
                        stack.group("worker")[0],
                        f"worker-{label}",
                        min(15, window_seconds - 5),
                        bench.profile_dir,
                    )
                )
            await _watch(bench, stack, f"{phase} {label}", began, window_seconds)
            await cpu.stop()
            wall = time.monotonic() - began
    finally:
        await stack.stop()
    profile_summary = await profiling if profiling is not None else None
    row = await conn.fetchrow(PHASE_STATS, phase_start)
    assert row is not None
    count = row["done"] + row["error"]
    span = (row["last"] - row["first"]).total_seconds() if count > 1 else 0.0
    batch = await per_transaction(conn, phase_start, await db_now(conn))
    since_enqueue = (row["last"] - phase_start).total_seconds() if count else 0.0
    per_order = {
        name: round(1000 * value / count, 3) if value is not None and count else None
        for name, value in cpu.seconds.items()
    }
    return {
        "workers": workers,
        "entries": len(ids),
        "jobs": jobs,
        "removed_before": cleared,
        "window_seconds": window_seconds,
        "wall_seconds": round(wall, 2),
        "processed": count,
        "done": row["done"],
        "error": row["error"],
        "left_queued": await depth(conn),
        "orders_per_s": round((count - 1) / span, 1) if span > 0 else 0.0,
        "orders_per_s_wall": round(count / wall, 1) if wall else 0.0,
        "orders_per_s_from_enqueue": round(count / since_enqueue, 1) if since_enqueue else 0.0,
        "busy_seconds": round(span, 2),
        "cpu_seconds": cpu.seconds,
        "cpu_ms_per_order": per_order,
        "entries_per_worker_transaction": batch,
        "cores": cores(cpu.seconds, wall),
        "machine_cpu_busy": cpu.machine_busy,
        "first_error": await conn.fetchval(FIRST_ERROR, phase_start) if row["error"] else None,
        "profile": profile_summary,
        "rss_mb": {"peak": rss.peak, "last": rss.last},
    }


def _said(result: dict[str, Any], label: str) -> None:
    say(
        f"drain {label}: {result['processed']:,} orders ({result['done']:,} done, "
        f"{result['error']:,} error) in {result['busy_seconds']:.1f}s = "
        f"{result['orders_per_s']:,.0f} orders/s; {result['left_queued']:,} still queued"
    )
    say(
        f"drain {label}: {cores_text(result['cpu_seconds'], result['wall_seconds'])}; CPU ms per "
        f"order {result['cpu_ms_per_order']}; "
        f"{fmt(result['entries_per_worker_transaction'], 1)} entries per worker transaction"
    )
    if result["first_error"]:
        say(f"drain {label}: first error: {str(result['first_error'])[:300]}")


async def drain(bench: Bench) -> dict[str, Any]:
    say(f"drain: probe, 1 worker on {PROBE_ENTRIES:,} entries, to size the backlog")
    probe = await window(bench, 1, PROBE_ENTRIES, "probe")
    _said(probe, "probe")
    # From the enqueue on, the jobs' pick-up included: a short probe's first-to-last rate can
    # run well above a window's, and an oversized backlog would overrun every window.
    size = backlog_size(probe["orders_per_s_from_enqueue"], bench.config.drain_seconds)
    say(f"drain: {size:,} entries for each of {', '.join(map(str, DRAIN_WORKERS))} worker(s)")
    windows: dict[str, dict[str, Any]] = {}
    for workers in DRAIN_WORKERS:
        result = await window(bench, workers, size, f"{workers}w")
        windows[str(workers)] = result
        _said(result, f"{workers}w")
    one = windows[str(DRAIN_WORKERS[0])]["orders_per_s"]
    for result in windows.values():
        result["ratio_to_one"] = round(result["orders_per_s"] / one, 2) if one else None
    await clear_queue(bench.conn, bench.servers)
    rss_peak: dict[str, float] = {}
    for result in (probe, *windows.values()):
        rss_peak.update(result["rss_mb"]["peak"])
    return {
        "probe": probe,
        "entries": size,
        "windows": windows,
        "rss_mb": {"peak": rss_peak},
    }


def drain_rows(result: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [("entries per window", fmt(result["entries"]), "same fresh backlog each")]
    for workers, w in result["windows"].items():
        ratio = w["ratio_to_one"]
        notes = [f"{ratio:.2f}x one worker" if ratio is not None else ""]
        if workers == "2":
            notes.append(f">= {TARGET_DRAIN_2:,.0f}/s ({met(w['orders_per_s'] >= TARGET_DRAIN_2)})")
            notes.append(
                f">= {TARGET_DRAIN_SCALING}x "
                f"({met(ratio is not None and ratio >= TARGET_DRAIN_SCALING)})"
            )
        if w["error"] or w["left_queued"]:
            notes.append(f"{w['error']:,} error, {w['left_queued']:,} left")
        rows.append(
            (f"drain orders/s, {workers} worker(s)", fmt(w["orders_per_s"], 1), "; ".join(notes))
        )
        rows.append(
            (
                f"  cores busy, {workers} worker(s)",
                ", ".join(f"{k} {v}" for k, v in w["cores"].items() if v is not None),
                "CPU ms per order: "
                + ", ".join(f"{k} {v}" for k, v in w["cpu_ms_per_order"].items() if v is not None)
                + f"; machine {fmt((w['machine_cpu_busy'] or 0) * 100)}% busy",
            )
        )
    return rows
