"""The recovery phase: a backlog whose arq jobs Redis lost, handed back by the workers'
sweeper, beside the same backlog fed as the API feeds it.

When Redis loses its data (a restart without persistence, a flush, a failover to an empty
replica) every queued entry is left without its job, and only the sweeper (workers/inbound.py)
finds them again: entries last enqueued more than ORDERHUB_SWEEP_AFTER_SECONDS ago, handed back
in jobs of 100. The phase makes that state directly: BENCH_RECOVERY_ENTRIES entries inserted
with SQL, last enqueued well before the threshold, and no job in Redis; then 2 workers start.
What is handed back is read from the database, where the sweeper stamps a new enqueued_at on
each entry it takes (and a processed entry has left the queue); the jobs waiting from Redis.
Then the same number of entries is drained by 2 workers fed as the API feeds them
(bench.drain.window), and processed/s of the two are compared.

Nothing but the sweeper updates inbound_queue's rows, so its updates (n_tup_upd) count the
entries it handed back, repeats included: an entry still queued ORDERHUB_SWEEP_AFTER_SECONDS
after its last enqueue is handed back again, whether its job was lost or is only waiting.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import asyncpg

from app.settings import Settings
from bench.backlog import clear_queue, db_now, insert_fresh, per_transaction
from bench.config import RECOVERY_WORKERS, TARGET_RECOVERY_RATIO
from bench.cpu import CpuWindow, cores, cores_text
from bench.drain import window
from bench.memory import RssSampler
from bench.progress import say
from bench.report import Row, fmt, met
from bench.stack import Bench, Stack

POLL_EVERY = 0.5
SAY_EVERY = 5.0
# How much older than the sweep threshold the lost entries are: all due from the first pass.
LOST_MARGIN = 60.0
SETTLE_SECONDS = 5.0

PROGRESS = """
SELECT count(*) AS queued, count(*) FILTER (WHERE enqueued_at < $1) AS lost FROM inbound_queue
"""
PROCESSED = """
SELECT count(*) AS processed, count(*) FILTER (WHERE state = 'error') AS error,
       min(processed_at) AS first, max(processed_at) AS last
  FROM inbound_processed WHERE processed_at >= $1
"""
UPDATED = """
SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'inbound_queue'::regclass
"""


@dataclass(frozen=True)
class Sample:
    """One look at the recovery, `seconds` after the workers were ready."""

    seconds: float
    lost: int
    queued: int
    jobs: int


def per_second(count: int, seconds: float | None) -> float | None:
    return round(count / seconds, 1) if seconds and seconds > 0 else None


def handed_back_after(samples: list[Sample]) -> float | None:
    """When no entry was left without a job: the first sample with none lost."""
    return next((s.seconds for s in samples if s.lost == 0), None)


def repeats(handed_back: int, entries: int) -> float | None:
    """Entries handed back per entry of the backlog: 1.0 when each was handed back once."""
    return round(handed_back / entries, 2) if entries else None


def ratio(recovered: float | None, direct: float | None) -> float | None:
    return round(recovered / direct, 2) if recovered and direct else None


async def swept_rows(conn: asyncpg.Connection[Any]) -> int:
    """inbound_queue's row updates so far, once the counter stops moving: a backend reports
    its counts when idle or on exit, so the workers' last ones come just after they stop."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last: int | None = None
    while True:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        value = int(await conn.fetchval(UPDATED) or 0)
        if value == last or time.monotonic() >= deadline:
            return value
        last = value
        await asyncio.sleep(POLL_EVERY)


async def _watch(
    bench: Bench, stack: Stack, since: Any, began: float, entries: int, redis: Any
) -> list[Sample]:
    """Until the queue is empty or BENCH_RECOVERY_SECONDS have passed."""
    samples: list[Sample] = []
    shown = began
    while True:
        await asyncio.sleep(POLL_EVERY)
        stack.check()
        row = await bench.conn.fetchrow(PROGRESS, since)
        assert row is not None
        jobs = int(await redis.zcard(bench.servers.queue_name))
        sample = Sample(round(time.monotonic() - began, 2), row["lost"], row["queued"], jobs)
        samples.append(sample)
        if sample.queued == 0 or sample.seconds >= bench.config.recovery_seconds:
            return samples
        if time.monotonic() - shown >= SAY_EVERY:
            shown = time.monotonic()
            say(
                f"recovery: {sample.seconds:5.1f}s, {entries - sample.lost:,} of {entries:,} "
                f"handed back, {entries - sample.queued:,} processed, {jobs:,} jobs in Redis"
            )


async def after_loss(bench: Bench, entries: int, sweep_after: float) -> dict[str, Any]:
    """The lost backlog, then 2 workers started on it, watched until it is drained."""
    import redis.asyncio as aioredis

    conn = bench.conn
    await clear_queue(conn, bench.servers)
    age = sweep_after + LOST_MARGIN
    await insert_fresh(conn, entries, f"{bench.run_id}-lost", age=age)
    redis = aioredis.from_url(bench.servers.redis_url)  # type: ignore[no-untyped-call]
    stack = Stack(bench, "recovery")
    rss = RssSampler(stack.pids)
    try:
        jobs_before = int(await redis.zcard(bench.servers.queue_name))
        if jobs_before:
            raise RuntimeError(f"recovery: {jobs_before} jobs in Redis before the workers start")
        say(
            f"recovery: {entries:,} entries last enqueued {age:.0f}s ago (sweep after "
            f"{sweep_after:g}s), no job in Redis; starting {RECOVERY_WORKERS} workers"
        )
        updated_before = await swept_rows(conn)
        async with rss.running():
            launched = time.monotonic()
            since = await db_now(conn)
            await stack.start_workers(RECOVERY_WORKERS, prefix="worker-lost-")
            ready = await db_now(conn)
            began = time.monotonic()
            cpu = CpuWindow(
                {"workers": stack.group("worker")}, bench.postgres_pid, bench.servers.redis_url
            )
            await cpu.start()
            samples = await _watch(bench, stack, since, began, entries, redis)
            await cpu.stop()
            wall = time.monotonic() - began
    finally:
        await stack.stop()
        await redis.aclose()
    handed_back = await swept_rows(conn) - updated_before
    row = await conn.fetchrow(PROCESSED, since)
    assert row is not None
    count = row["processed"]
    drained = (row["last"] - ready).total_seconds() if count else None
    span = (row["last"] - row["first"]).total_seconds() if count > 1 else None
    all_back = handed_back_after(samples)
    last = samples[-1]
    return {
        "workers": RECOVERY_WORKERS,
        "entries": entries,
        "sweep_after_seconds": sweep_after,
        "lost_age_seconds": age,
        "window_seconds": bench.config.recovery_seconds,
        "startup_seconds": round(began - launched, 2),
        "handed_back_seconds": all_back,
        "handed_back_per_s": per_second(entries, all_back),
        "drained_seconds": round(drained, 2) if drained is not None and not last.queued else None,
        "processed": count,
        "error": row["error"],
        "left_queued": last.queued,
        "left_lost": last.lost,
        "processed_per_s": per_second(count, drained),
        "processed_per_s_first_to_last": per_second(count - 1, span),
        "first_order_seconds": round((row["first"] - ready).total_seconds(), 2) if count else None,
        "peak_jobs": max((s.jobs for s in samples), default=0),
        "handed_back_entries": handed_back,
        "handed_back_per_entry": repeats(handed_back, entries),
        "entries_per_worker_transaction": await per_transaction(conn, since, await db_now(conn)),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": cpu.seconds,
        "cores": cores(cpu.seconds, wall),
        "machine_cpu_busy": cpu.machine_busy,
        "samples": [(s.seconds, s.lost, s.queued, s.jobs) for s in samples],
        "rss_mb": {"peak": rss.peak, "last": rss.last},
    }


def _said(lost: dict[str, Any], direct: dict[str, Any]) -> None:
    back = lost["handed_back_seconds"]
    say(
        f"recovery: workers ready after {lost['startup_seconds']:.1f}s; every entry handed back "
        f"after {'-' if back is None else f'{back:.1f}s'}; {lost['processed']:,} processed, "
        f"{lost['left_queued']:,} left, last at "
        f"{fmt(lost['drained_seconds'], 1)}s = {fmt(lost['processed_per_s'])}/s; "
        f"the sweeper handed back {lost['handed_back_entries']:,} entries "
        f"({fmt(lost['handed_back_per_entry'], 2)} per entry)"
    )
    say(f"recovery: {cores_text(lost['cpu_seconds'], lost['wall_seconds'])}")
    say(
        f"recovery direct: {direct['processed']:,} processed = "
        f"{fmt(direct['orders_per_s_from_enqueue'])}/s from the enqueue; the sweeper handed back "
        f"{direct['handed_back_entries']:,} entries that had their jobs"
    )


async def recovery(bench: Bench) -> dict[str, Any]:
    entries = bench.config.recovery_entries
    sweep_after = Settings.from_env(bench.procs.env).orderhub_sweep_after_seconds
    lost = await after_loss(bench, entries, sweep_after)
    updated_before = await swept_rows(bench.conn)
    direct = await window(
        bench,
        RECOVERY_WORKERS,
        entries,
        "direct",
        phase="recovery",
        seconds=bench.config.recovery_seconds,
    )
    direct["handed_back_entries"] = await swept_rows(bench.conn) - updated_before
    await clear_queue(bench.conn, bench.servers)
    _said(lost, direct)
    rss_peak = {**lost["rss_mb"]["peak"], **direct["rss_mb"]["peak"]}
    return {
        "entries": entries,
        "after_loss": lost,
        "direct": direct,
        "ratio": ratio(lost["processed_per_s"], direct["orders_per_s_from_enqueue"]),
        "rss_mb": {"peak": rss_peak},
    }


def recovery_rows(result: dict[str, Any]) -> list[Row]:
    lost, direct = result["after_loss"], result["direct"]
    back = lost["handed_back_seconds"]
    left = f"; {lost['error']:,} error, {lost['left_queued']:,} left" if lost["left_queued"] else ""
    direct_left = (
        f"; {direct['error']:,} error, {direct['left_queued']:,} left"
        if direct["error"] or direct["left_queued"]
        else ""
    )
    unfinished = f"not within {lost['window_seconds']} s"
    value = result["ratio"]
    reached = value is not None and value >= TARGET_RECOVERY_RATIO
    return [
        (
            "entries, Redis emptied",
            fmt(result["entries"]),
            f"last enqueued {lost['lost_age_seconds']:g}s ago (sweep after "
            f"{lost['sweep_after_seconds']:g}s), no job; {lost['workers']} workers, ready after "
            f"{lost['startup_seconds']:.1f}s; times below count from ready",
        ),
        (
            "every entry handed back after",
            unfinished if back is None else f"{back:.1f} s",
            (
                f"{lost['entries'] - lost['left_lost']:,} handed back by then"
                if back is None
                else f"{fmt(lost['handed_back_per_s'])} entries/s handed back"
            )
            + f"; at most {lost['peak_jobs']:,} jobs waiting in Redis",
        ),
        (
            "backlog drained after",
            unfinished if lost["drained_seconds"] is None else f"{lost['drained_seconds']:.1f} s",
            f"first order after {fmt(lost['first_order_seconds'], 1)} s{left}",
        ),
        (
            "processed/s after the loss",
            fmt(lost["processed_per_s"], 1),
            f"{fmt(lost['processed_per_s_first_to_last'], 1)}/s first to last order; "
            f"{fmt(lost['entries_per_worker_transaction'], 1)} entries per worker transaction",
        ),
        (
            "  entries handed back, repeats too",
            fmt(lost["handed_back_entries"]),
            f"{lost['entries'] - lost['left_lost']:,} different entries by the last look; "
            "more updates than those are entries handed back again",
        ),
        (
            "  cores busy",
            ", ".join(f"{k} {v}" for k, v in lost["cores"].items() if v is not None),
            f"machine {fmt((lost['machine_cpu_busy'] or 0) * 100)}% busy",
        ),
        (
            "drain fed as the API feeds it",
            fmt(direct["orders_per_s_from_enqueue"], 1),
            f"{direct['processed']:,} orders, {lost['workers']} workers, from the enqueue to the "
            f"last; {fmt(direct['orders_per_s'], 1)}/s first to last{direct_left}",
        ),
        (
            "  entries the sweeper handed back",
            fmt(direct["handed_back_entries"]),
            "while their jobs waited in Redis",
        ),
        (
            "ratio after loss / fed",
            fmt(value, 2),
            f">= {TARGET_RECOVERY_RATIO} ({met(reached)})",
        ),
    ]
