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
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.config import RESULTS_DIR, TARGET_P99_MS, TARGET_RATIO, usable_cpus
from bench.servers import Servers, busy_fraction, machine_ticks

OTHER_LOAD_SECONDS = 2.0


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def other_load(seconds: float = OTHER_LOAD_SECONDS) -> float | None:
    """The share of the machine's CPUs busy before the run starts anything: on a shared
    machine, what else is running, which every figure then competes with."""
    before = machine_ticks()
    time.sleep(seconds)
    return busy_fraction(before, machine_ticks())


async def machine(conn: asyncpg.Connection[Any], servers: Servers) -> dict[str, Any]:
    from app.services import jobs

    client = jobs.client(servers.redis_url)
    try:
        redis_version = (await client.info("server")).get("redis_version", "unknown")
    finally:
        await jobs.close(client)
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


Row = tuple[str, str, str]  # figure, value, target or note


def fmt(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def met(ok: bool) -> str:
    return "met" if ok else "not met"


def ingest_rows(results: dict[str, Any]) -> list[Row]:
    """The ingest phase beside the ceiling, as the table has always shown them."""
    ing = results["ingest"]
    lat = ing["latency_ms"]
    ratio = results.get("ratio")
    ratio_ok = ratio is not None and ratio >= TARGET_RATIO
    return [
        ("generator", ing["generator_label"], ""),
        ("concurrency", str(ing["concurrency"]), ""),
        ("API processes", str(ing.get("api_processes", 1)), ""),
        ("seconds", fmt(ing["seconds"], 1), ""),
        (
            "accepted/s",
            fmt(ing["accepted_per_s"], 1),
            f">= {TARGET_RATIO}x ceiling ({met(ratio_ok)})",
        ),
        (
            "latency p50 / p99 / max ms",
            f"{lat['p50']:.1f} / {lat['p99']:.1f} / {lat['max']:.1f}",
            f"p99 <= {TARGET_P99_MS:.0f} ms ({met(lat['p99'] <= TARGET_P99_MS)})",
        ),
        ("errors (non-202)", fmt(ing["errors"]), ""),
        ("rows stored / 202s", f"{ing['rows_stored']:,} / {ing['accepted']:,}", ""),
        (
            "ratio ingest/ceiling",
            "-" if ratio is None else f"{ratio:.2f}x",
            f">= {TARGET_RATIO}x ({met(ratio_ok)})",
        ),
    ]


def ceiling_rows(results: dict[str, Any]) -> list[Row]:
    ceil = results["ceiling"]
    return [
        (
            "ceiling tps (pgbench)",
            fmt(ceil["tps"], 1),
            f"synchronous_commit={ceil['synchronous_commit']}, fsync={ceil['fsync']}",
        )
    ]


def print_table(results: dict[str, Any], sections: list[tuple[str, list[Row]]]) -> None:
    """One table: a heading line per phase, then its figures, each beside its target."""
    rows = [row for _, section in sections for row in section]
    if not rows:
        print("bench: no figures", flush=True)
        return
    width = [max(len(r[i]) for r in rows) for i in range(2)]
    m = results["machine"]
    other = results.get("busy_before_run")
    print(flush=True)
    print(
        f"OrderHub benchmark  {results['started_at']}  nproc {m['nproc']}, "
        f"Python {m['python']}, PostgreSQL {m['postgres']}, Redis {m['redis']} ({m['servers']})"
        + ("" if other is None else f"; machine {other:.0%} busy before the run")
    )
    print(f"{'figure':<{width[0]}}  {'value':>{width[1]}}  target / note")
    for title, section in sections:
        print(f"{'-' * width[0]}  {'-' * width[1]}  {'-' * 40}")
        print(f"[{title}]")
        for name, value, note in section:
            print(f"{name:<{width[0]}}  {value:>{width[1]}}  {note}".rstrip())
    print(flush=True)


def save(results: dict[str, Any], stamp: str) -> Path:
    """Written to a .tmp file first and renamed, so that an interrupted run leaves no half file
    among the results."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"bench-{stamp}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
