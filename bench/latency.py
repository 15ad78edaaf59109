"""The latency phase: orders offered at fixed rates (bench/openloop.py), with the API and two
workers running, and how long each took from its 202 to its order.

Capacity says how much the product takes when pushed; this says how it behaves at a load it
should carry, which is how it mostly runs. Each step offers one rate for
BENCH_LATENCY_SECONDS, then waits for its entries to be processed before the next step, so
that no step inherits another's backlog. 202 -> done is read from the database: the queue
entry's received_at (stamped in the transaction whose commit the 202 waits for) to its
inbound_processed.processed_at (stamped in the transaction that creates the order).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

from bench.backlog import BacklogSampler, db_now, per_transaction
from bench.body import authorization
from bench.closedloop import ENDPOINT, write_body_file
from bench.config import FLAT_SHARE, LATENCY_WORKERS, REPO_ROOT, TARGET_DONE_P99_S
from bench.cpu import CpuWindow, cores_text
from bench.memory import RssSampler
from bench.progress import say
from bench.report import Row, fmt, met
from bench.stack import Bench, Stack, running, wait_empty
from bench.stats import is_flat

SETTLE_SECONDS = 15.0
OVERRUN_SECONDS = 60.0

# Every entry of the step, processed or still queued; a queued one counts with its age so far,
# so that an unfinished entry makes the figures worse, never better.
STEP_DONE = """
WITH step AS (
    SELECT extract(epoch FROM processed_at - received_at)::float8 AS s, false AS pending,
           state = 'error' AS failed
      FROM inbound_processed
     WHERE received_at BETWEEN $1 AND $2 AND processed_at >= $1
    UNION ALL
    SELECT extract(epoch FROM clock_timestamp() - received_at)::float8, true, false
      FROM inbound_queue WHERE received_at BETWEEN $1 AND $2
)
SELECT count(*) AS entries, count(*) FILTER (WHERE pending) AS pending,
       count(*) FILTER (WHERE failed) AS failed,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY s) AS p50,
       percentile_disc(0.99) WITHIN GROUP (ORDER BY s) AS p99,
       max(s) AS max
  FROM step
"""


async def generate(bench: Bench, rate: int, prefix: str, sampler: BacklogSampler) -> dict[str, Any]:
    """Runs bench/openloop.py for one step, relaying its progress lines with the backlog."""
    config = bench.config
    argv = [
        sys.executable,
        "-m",
        "bench.openloop",
        bench.base_url + ENDPOINT,
        str(write_body_file(bench.workdir)),
        authorization(),
        prefix,
        str(rate),
        str(config.latency_seconds),
    ]
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    errors = asyncio.ensure_future(process.stderr.read())
    result: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(config.latency_seconds + OVERRUN_SECONDS):
            while line := await process.stdout.readline():
                text = line.decode(errors="replace").strip()
                if text.startswith("PROGRESS "):
                    p = json.loads(text.removeprefix("PROGRESS "))
                    say(
                        f"latency {rate}/s: {p['elapsed']:5.1f}s, {p['sent']:,} sent of "
                        f"{p['due']:,} due ({p['send_rate']:,.0f}/s lately), {p['late']:,} late "
                        f"(worst {p['lateness_max_ms']} ms), {p['in_flight']} in flight, "
                        f"backlog {fmt(sampler.latest)}"
                    )
                elif text.startswith("BENCH_JSON "):
                    result = json.loads(text.removeprefix("BENCH_JSON "))
            await process.wait()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if result is None:
        raise RuntimeError(
            f"openloop printed no summary (exit {process.returncode}): "
            + (await errors).decode(errors="replace")[-1000:]
        )
    return result


async def step(bench: Bench, stack: Stack, rate: int, sampler: BacklogSampler) -> dict[str, Any]:
    conn = bench.conn
    say(f"latency: offering {rate:,} orders/s for {bench.config.latency_seconds}s")
    cpu = CpuWindow(
        {"api": stack.group("api"), "workers": stack.group("worker")},
        bench.postgres_pid,
        bench.servers.redis_url,
    )
    await cpu.start()
    first = await db_now(conn)
    began = time.monotonic()
    load = await generate(bench, rate, f"{bench.run_id}-ol{rate}", sampler)
    ended = time.monotonic()
    last = await db_now(conn)
    await cpu.stop()
    stack.check()
    backlog = sampler.growth(began, ended)
    settled = await wait_empty(conn, SETTLE_SECONDS)
    row = await conn.fetchrow(STEP_DONE, first, last)
    assert row is not None
    batch = await per_transaction(conn, first, await db_now(conn))
    done = {
        key: (round(row[key] * 1000, 1) if row[key] is not None else None)
        for key in ("p50", "p99", "max")
    }
    result = {
        **load,
        "entries": row["entries"],
        "pending_after_settle": row["pending"],
        "failed": row["failed"],
        "entries_per_worker_transaction": batch,
        "settled": settled,
        "done_latency_ms": done,
        "backlog": backlog,
        "backlog_flat": is_flat(backlog["slope_per_s"] or 0.0, rate, FLAT_SHARE),
        "cpu_seconds": cpu.seconds,
        "machine_cpu_busy": cpu.machine_busy,
    }
    lat = load["latency_202_ms"]
    say(
        f"latency {rate}/s: sent {load['sent']:,} at {load['achieved_per_s']:,.1f}/s, "
        f"{load['missed']:,} missed, {load['late']:,} late by > {load['late_after_ms']:.0f} ms "
        f"(p99 {load['lateness_ms']['p99']} ms, max {load['lateness_ms']['max']} ms); "
        f"202 p50 {lat['p50']} / p99 {lat['p99']} ms; 202->done p50 {done['p50']} / "
        f"p99 {done['p99']} / max {done['max']} ms; backlog {backlog['start']} -> "
        f"{backlog['end']} ({backlog['slope_per_s']}/s); {fmt(batch, 1)} entries per worker "
        "transaction"
    )
    say(
        f"latency {rate}/s: {cores_text(cpu.seconds, ended - began)}; "
        f"the generator {load['cpu_seconds'] / (ended - began):.2f}"
    )
    return result


async def latency(bench: Bench) -> dict[str, Any]:
    async with running(bench, "latency", LATENCY_WORKERS) as stack:
        sampler = BacklogSampler(bench.servers.dsn)
        rss = RssSampler(stack.pids)
        async with rss.running(), sampler.running():
            steps = {}
            for rate in bench.config.latency_rates:
                steps[str(rate)] = await step(bench, stack, rate, sampler)
    return {
        "workers": LATENCY_WORKERS,
        "seconds_per_step": bench.config.latency_seconds,
        "steps": steps,
        "rss_mb": {"peak": rss.peak, "last": rss.last},
    }


def latency_rows(result: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    steps = result["steps"]
    top = max(steps, key=int)
    for rate, s in steps.items():
        lat, done, backlog = s["latency_202_ms"], s["done_latency_ms"], s["backlog"]
        at_top = rate == top
        rows.append(
            (
                f"{int(rate):,}/s offered: sent/s, late, missed",
                f"{s['achieved_per_s']:,.1f}, {s['late']:,}, {s['missed']:,}",
                f"late = > {s['late_after_ms']:.0f} ms behind schedule; "
                f"max {s['lateness_ms']['max']:.1f} ms",
            )
        )
        rows.append(
            (f"{int(rate):,}/s: 202 p50 / p99 ms", f"{lat['p50']:.1f} / {lat['p99']:.1f}", "")
        )
        p99_s = (done["p99"] or 0.0) / 1000
        rows.append(
            (
                f"{int(rate):,}/s: 202->done p50 / p99 / max ms",
                f"{done['p50']} / {done['p99']} / {done['max']}",
                (
                    f"p99 <= {TARGET_DONE_P99_S:.0f} s ({met(p99_s <= TARGET_DONE_P99_S)})"
                    if at_top
                    else ""
                )
                + (
                    f"; {s['pending_after_settle']:,} unfinished"
                    if s["pending_after_settle"]
                    else ""
                ),
            )
        )
        rows.append(
            (
                f"{int(rate):,}/s: backlog start -> end (slope/s)",
                f"{backlog['start']} -> {backlog['end']} ({backlog['slope_per_s']})",
                (f"flat ({met(s['backlog_flat'])}); " if at_top else "")
                + f"{fmt(s['entries_per_worker_transaction'], 1)} entries per worker transaction",
            )
        )
    return rows
