"""What a run leaves: the machine it ran on, one table, and every figure as JSON.

The machine goes with the figures because everything shares it (load generator, API,
workers, PostgreSQL, Redis): runs compare only on the same kind of machine. The JSON goes to
bench/results/, which git ignores; docs/benchmarks.md keeps the summary.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
from pathlib import Path
from typing import Any

import asyncpg

from bench.config import RESULTS_DIR, TARGET_DRAIN_2, TARGET_P99_MS, TARGET_RATIO, usable_cpus
from bench.servers import Servers


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


async def machine(conn: asyncpg.Connection[Any], servers: Servers) -> dict[str, Any]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(servers.redis_url)  # type: ignore[no-untyped-call]
    try:
        redis_version = (await client.info("server")).get("redis_version", "unknown")
    finally:
        await client.aclose()
    return {
        "nproc": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "cpu_model": cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "postgres": await conn.fetchval("SHOW server_version"),
        "redis": str(redis_version),
        "servers": servers.kind,
    }


def _fmt(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def print_table(results: dict[str, Any]) -> None:
    ing = results["ingest"]
    ceil = results["ceiling"]
    one, two = results["drain"]["workers_1"], results["drain"]["workers_2"]
    lat = ing["latency_ms"]
    ratio = results["ratio"]

    def met(ok: bool) -> str:
        return "met" if ok else "not met"

    rows = [
        ("generator", ing["generator_label"], ""),
        ("concurrency", str(ing["concurrency"]), ""),
        ("API processes", str(ing.get("api_processes", 1)), ""),
        ("seconds", _fmt(ing["seconds"], 1), ""),
        (
            "accepted/s",
            _fmt(ing["accepted_per_s"], 1),
            f">= {TARGET_RATIO}x ceiling ({met(ratio >= TARGET_RATIO)})",
        ),
        (
            "latency p50 / p99 / max ms",
            f"{lat['p50']:.1f} / {lat['p99']:.1f} / {lat['max']:.1f}",
            f"p99 <= {TARGET_P99_MS:.0f} ms ({met(lat['p99'] <= TARGET_P99_MS)})",
        ),
        ("errors (non-202)", _fmt(ing["errors"]), ""),
        ("rows stored / 202s", f"{ing['rows_stored']:,} / {ing['accepted']:,}", ""),
        (
            "ceiling tps (pgbench)",
            _fmt(ceil["tps"], 1),
            f"synchronous_commit={ceil['synchronous_commit']}",
        ),
        (
            "ratio ingest/ceiling",
            f"{ratio:.2f}x",
            f">= {TARGET_RATIO}x ({met(ratio >= TARGET_RATIO)})",
        ),
        (
            "drain orders/s, 1 worker",
            _fmt(one["orders_per_s"], 1),
            f"{one['done']:,} done, {one['error']:,} error",
        ),
        (
            "drain orders/s, 2 workers",
            _fmt(two["orders_per_s"], 1),
            f">= {TARGET_DRAIN_2:,.0f} ({met(two['orders_per_s'] >= TARGET_DRAIN_2)}); "
            f"{two['done']:,} done, {two['error']:,} error",
        ),
    ]
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    m = results["machine"]
    print(flush=True)
    print(
        f"OrderHub ingest benchmark  {results['started_at']}  nproc {m['nproc']}, "
        f"Python {m['python']}, PostgreSQL {m['postgres']}, Redis {m['redis']} ({m['servers']})"
    )
    print(f"{'figure':<{width[0]}}  {'value':>{width[1]}}  target / note")
    print(f"{'-' * width[0]}  {'-' * width[1]}  {'-' * 40}")
    for name, value, note in rows:
        print(f"{name:<{width[0]}}  {value:>{width[1]}}  {note}")
    print(flush=True)


def save(results: dict[str, Any], stamp: str) -> Path:
    """Written to a .tmp file first and renamed, so that an interrupted run leaves no half file
    among the results."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"ingest-{stamp}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
