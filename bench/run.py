"""One benchmark run: the phases BENCH_PHASES selects, always in this order (bench/README.md):

1. set-up: private servers (bench.servers), the schema, demo catalogue and user admin/admin,
   the machine's facts (bench.report), the WAL warm-up on the embedded server (bench.ingest);
2. ingest: `mode=async` POSTs from a separate load generator at the API alone (bench.ingest);
3. ceiling, whenever ingest or capacity runs: pgbench inserting the same body into a copy of
   inbound_queue (bench.ceiling), which every ratio divides by;
4. capacity: the API and two workers under the same load (bench.capacity);
5. latency: fixed offered rates, open loop, with the API and two workers (bench.latency);
6. drain: 1, 2 and 4 workers on the same fresh backlog, no API (bench.drain);
7. recovery: a backlog whose jobs Redis lost, handed back by the sweeper, beside the same
   backlog fed as the API feeds it (bench.recovery);
8. events: event notifications to 1 and 10 hub subscribers, and intake beside them
   (bench.events);
9. memory: bad input against a running API (bench.memory_phase); every phase samples RSS;
10. reads: bench.reads, when it is there;
11. the table printed and every figure saved as JSON (bench.report).

Every process the run starts is stopped by its pid, and the servers and their folder go with
it, so that a run leaves nothing behind but its results.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import Any

import asyncpg

from app.cli.database import prepare_database
from app.cli.embedded import free_port
from bench import config as targets
from bench.backlog import clear_queue
from bench.capacity import capacity, capacity_rows
from bench.ceiling import ceiling
from bench.config import REPO_ROOT, RESULTS_DIR, Config
from bench.drain import drain, drain_rows
from bench.events import events_phase, events_rows
from bench.ingest import ingest, warm_wal
from bench.latency import latency, latency_rows
from bench.memory import RssSampler
from bench.memory_phase import memory, memory_rows
from bench.progress import say
from bench.recovery import recovery, recovery_rows
from bench.report import Row, ceiling_rows, ingest_rows, machine, other_load, print_table, save
from bench.servers import Processes, Servers, postgres_pid, servers
from bench.stack import Bench, Stack


def target_figures() -> dict[str, float]:
    """bench.config's TARGET_* constants, for the JSON."""
    return {
        name.removeprefix("TARGET_").lower(): value
        for name, value in vars(targets).items()
        if name.startswith("TARGET_")
    }


def load_reads() -> ModuleType | None:
    """bench.reads when it imports; someone else writes it, so a run must not depend on it.
    Imported before any server starts, so that a broken one costs no run."""
    try:
        return importlib.import_module("bench.reads")
    except Exception as exc:  # not there yet, or not finished
        say(f"reads: not available yet ({type(exc).__name__}: {exc})")
        return None


async def run_ingest(bench: Bench) -> dict[str, Any]:
    stack = Stack(bench, "ingest")
    try:
        await stack.start_api()
        rss = RssSampler(stack.pids)
        async with rss.running():
            result = await ingest(
                bench.config,
                bench.conn,
                bench.base_url,
                stack.processes["api"],
                bench.workdir,
                bench.run_id,
                bench.profile_dir,
            )
        result["rss_mb"] = {"peak": rss.peak, "last": rss.last}
        say("ingest: stopping the API")
    finally:
        await stack.stop()
    return result


async def run_phases(bench: Bench, results: dict[str, Any], reads: ModuleType | None) -> None:
    config = bench.config
    timed: dict[str, float] = results["phase_seconds"]

    async def phase(name: str, body: Callable[[], Awaitable[Any]]) -> None:
        began = time.monotonic()
        results[name] = await body()
        timed[name] = round(time.monotonic() - began, 1)
        say(f"{name}: phase took {timed[name]:.0f}s")

    async def fresh(name: str, body: Callable[[Bench], Awaitable[Any]]) -> None:
        """A phase that starts on an empty queue: what the last one left is removed first."""
        removed = await clear_queue(bench.conn, bench.servers)
        if removed:
            say(f"{name}: removed {removed:,} entries an earlier phase left queued")
        await phase(name, lambda: body(bench))

    if "ingest" in config.phases:
        await phase("ingest", lambda: run_ingest(bench))
    if config.needs_ceiling:
        await phase(
            "ceiling",
            lambda: ceiling(config, bench.conn, bench.servers.dsn, bench.workdir, bench.run_id),
        )
        if "ingest" in results:
            results["ratio"] = round(
                results["ingest"]["accepted_per_s"] / results["ceiling"]["tps"], 3
            )
    if "capacity" in config.phases:
        tps = results["ceiling"]["tps"]
        await fresh("capacity", lambda b: capacity(b, tps))
    if "latency" in config.phases:
        await fresh("latency", latency)
    if "drain" in config.phases:
        await fresh("drain", drain)
    if "recovery" in config.phases:
        await fresh("recovery", recovery)
    if "events" in config.phases:
        await fresh("events", events_phase)
    if "memory" in config.phases:
        await fresh("memory", memory)
    if "reads" in config.phases and reads is not None:
        await fresh("reads", lambda _: reads.reads_phase(config))


async def run(
    config: Config,
    servers: Servers,
    workdir: Path,
    run_id: str,
    stamp: str,
    reads: ModuleType | None,
) -> dict[str, Any]:
    say("preparing the database: schema, demo catalogue, user admin/admin")
    await prepare_database(servers.dsn, demo=True)
    conn = await asyncpg.connect(servers.dsn)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": servers.dsn,
        "REDIS_URL": servers.redis_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ORDERHUB_LOG_LEVEL": "warning",
        "ORDERHUB_QUEUE_NAME": servers.queue_name,
        "ORDERHUB_API_PROCESSES": str(config.api_processes),
    }
    log_dir = workdir / "logs"
    log_dir.mkdir()
    profile_dir = RESULTS_DIR / f"profile-{stamp}"
    if config.profile:
        profile_dir.mkdir(parents=True, exist_ok=True)
    procs = Processes(env, log_dir)
    bench = Bench(
        config, conn, servers, procs, f"http://127.0.0.1:{port}", workdir, run_id, profile_dir
    )
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": asdict(config),
        "targets": target_figures(),
        "phase_seconds": {},
    }
    try:
        results["machine"] = await machine(conn, servers)
        bench.postgres_pid = await postgres_pid(conn)
        if servers.kind.startswith("embedded postgres"):
            results["wal_warmup"] = await warm_wal(conn)
        await run_phases(bench, results, reads)
    except BaseException:
        for log in sorted(log_dir.glob("*.log")):
            tail = procs.tail(log.stem, 10)
            if tail:
                say(f"last lines of {log.name}:\n{tail}")
        raise
    finally:
        await asyncio.to_thread(procs.stop_all)
        if servers.kind.endswith("external redis"):
            with contextlib.suppress(Exception):
                await clear_queue(conn, servers)
        await conn.close()
    return results


def sections(results: dict[str, Any], reads: ModuleType | None) -> list[tuple[str, list[Row]]]:
    """The table's parts, in run order, for the phases that ran."""
    out: list[tuple[str, list[Row]]] = []
    if "ingest" in results:
        out.append(("ingest", ingest_rows(results)))
    if "ceiling" in results:
        out.append(("ceiling", ceiling_rows(results)))
    for name, rows_of in (
        ("capacity", capacity_rows),
        ("latency", latency_rows),
        ("drain", drain_rows),
        ("recovery", recovery_rows),
        ("events", events_rows),
    ):
        if name in results:
            out.append((name, rows_of(results[name])))
    memory_section = memory_rows(results)
    if memory_section:
        out.append(("memory", memory_section))
    if "reads" in results and reads is not None:
        reads_section: list[Row] = [
            (str(r["figure"]), str(r["value"]), str(r["target"]))
            for r in reads.reads_rows(results["reads"])
        ]
        out.append(("reads", reads_section))
    return out


def main() -> int:
    config = Config.from_env()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp.replace('-', '')}{uuid.uuid4().hex[:6]}"
    say(
        f"benchmark: BENCH_PHASES={','.join(config.phases)} BENCH_SECONDS={config.seconds} "
        f"BENCH_CONCURRENCY={config.concurrency} BENCH_DRAIN_SECONDS={config.drain_seconds} "
        f"BENCH_LATENCY_SECONDS={config.latency_seconds} "
        f"BENCH_LATENCY_RATES={','.join(map(str, config.latency_rates))} "
        f"BENCH_GENERATOR={config.generator} BENCH_API_PROCESSES={config.api_processes} "
        f"BENCH_PROFILE={int(config.profile)}"
    )
    reads = load_reads() if "reads" in config.phases else None
    began = time.monotonic()
    busy_before = other_load()
    say(f"machine {busy_before or 0:.0%} busy before the run (other load)")
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-bench-"))
    try:
        with servers(workdir, run_id) as found:
            results = asyncio.run(run(config, found, workdir, run_id, stamp, reads))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["wall_seconds"] = round(time.monotonic() - began, 1)
    results["busy_before_run"] = busy_before
    print_table(results, sections(results, reads))
    path = save(results, stamp)
    say(
        f"figures saved to {path.relative_to(REPO_ROOT)}; "
        f"the run took {results['wall_seconds']:.0f}s"
    )
    return 0
