"""One benchmark run, in the order it takes (see bench/README.md):

1. set-up: private servers (bench.servers), the schema, demo catalogue and user admin/admin,
   the machine's facts (bench.report), the WAL warm-up on the embedded server (bench.ingest),
   and `orderhub serve` with no worker;
2. ingest: `mode=async` POSTs from a separate load generator (bench.ingest), then the API
   is stopped;
3. ceiling: pgbench inserting the same body into a copy of inbound_queue (bench.ceiling);
4. drains: the queue drained by one worker, then a fresh backlog by two (bench.drain);
5. the table printed and every figure saved as JSON (bench.report).

Every process the run starts is stopped by its pid, and the servers and their folder go with
it, so that a run leaves nothing behind but its results.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from app.cli.database import prepare_database
from app.cli.embedded import free_port
from bench.ceiling import ceiling
from bench.config import (
    REPO_ROOT,
    RESULTS_DIR,
    TARGET_DRAIN_2,
    TARGET_P99_MS,
    TARGET_RATIO,
    Config,
)
from bench.drain import clear_queue, drain, fresh_entries, queue_fresh
from bench.ingest import ingest, warm_wal
from bench.progress import say
from bench.report import machine, print_table, save
from bench.servers import Processes, Servers, servers, stop_async

READY_TIMEOUT = 60.0


async def wait_ready(base_url: str, api: subprocess.Popen[bytes], procs: Processes) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while time.monotonic() < deadline:
            if api.poll() is not None:
                raise RuntimeError(
                    f"orderhub serve exited with {api.returncode}:\n{procs.tail('api')}"
                )
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(base_url + "/ready") as response:
                    if response.status == 200:
                        say("API ready")
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{base_url}/ready did not answer 200 within {READY_TIMEOUT:.0f}s")


async def run(
    config: Config, servers: Servers, workdir: Path, run_id: str, stamp: str
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
    results: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": asdict(config),
        "targets": {
            "ingest_ratio_to_ceiling": TARGET_RATIO,
            "ingest_p99_ms": TARGET_P99_MS,
            "drain_orders_per_s_2_workers": TARGET_DRAIN_2,
        },
    }
    try:
        results["machine"] = await machine(conn, servers)
        if servers.kind.startswith("embedded postgres"):
            results["wal_warmup"] = await warm_wal(conn)
        base_url = f"http://127.0.0.1:{port}"
        say(
            f"starting orderhub serve on {base_url}, "
            f"{config.api_processes} process(es), no worker yet"
        )
        api = procs.start("api", "serve")
        await wait_ready(base_url, api, procs)

        results["ingest"] = await ingest(config, conn, base_url, api, workdir, run_id, profile_dir)
        say("stopping the API")
        await stop_async(procs, api)
        results["ceiling"] = await ceiling(config, conn, servers.dsn, workdir, run_id)
        results["ratio"] = round(results["ingest"]["accepted_per_s"] / results["ceiling"]["tps"], 3)

        one = await drain(config, conn, procs, 1, profile_dir)
        cleared = await clear_queue(conn, servers)
        if cleared:
            say(f"drain: removed {cleared:,} entries the 1-worker window left queued")
        size = fresh_entries(one["orders_per_s"], config.drain_seconds)
        inserted, took = await queue_fresh(conn, size, run_id)
        say(f"drain: inserted {inserted:,} queued entries with SQL in {took:.1f}s")
        two = await drain(config, conn, procs, 2, profile_dir)
        one["removed_after_window"] = cleared
        two["inserted_with_sql"] = inserted
        results["drain"] = {"workers_1": one, "workers_2": two}
    except BaseException:
        for name in ("api", "worker1-1", "worker2-1", "worker2-2"):
            tail = procs.tail(name, 10)
            if tail:
                say(f"last lines of {name}.log:\n{tail}")
        raise
    finally:
        await asyncio.to_thread(procs.stop_all)
        if servers.kind.endswith("external redis"):
            with contextlib.suppress(Exception):
                await clear_queue(conn, servers)
        await conn.close()
    return results


def main() -> int:
    config = Config.from_env()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_id = f"{stamp.replace('-', '')}{uuid.uuid4().hex[:6]}"
    say(
        f"ingest benchmark: BENCH_SECONDS={config.seconds} BENCH_CONCURRENCY={config.concurrency}"
        f" BENCH_DRAIN_SECONDS={config.drain_seconds} BENCH_GENERATOR={config.generator}"
        f" BENCH_PROFILE={int(config.profile)}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="orderhub-bench-"))
    try:
        with servers(workdir, run_id) as found:
            results = asyncio.run(run(config, found, workdir, run_id, stamp))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    path = save(results, stamp)
    say(f"figures saved to {path.relative_to(REPO_ROOT)}")
    return 0
