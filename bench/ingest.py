"""The ingest phase: a separate load generator POSTs `mode=async` orders at one `orderhub serve`.

Before it, on the embedded server, the WAL is warmed up: a new cluster has no WAL files to
reuse and creates one every 16 MB, which only ingest would pay for, since the ceiling and the
drains reuse the files that ingest left. The checkpoints and the WAL each phase wrote are
counted here because both weigh on commits and so on the latency's tail.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.body import authorization, seed_body
from bench.config import BENCH_DIR, REPO_ROOT, Config
from bench.profiling import profile_after
from bench.progress import PROGRESS_EVERY, pct, say
from bench.servers import busy_fraction, child_pids, machine_ticks, tool_version, tree_cpu_seconds

ENDPOINT = "/api/sn_tmf_api/order/serviceOrder?mode=async"
PLACEHOLDER = "@@EXTERNAL_ID@@"
LUA_SCRIPT = BENCH_DIR / "post_async.lua"
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


async def warm_up(base_url: str, body: dict[str, Any], run_id: str, processes: int) -> None:
    """POSTs that must answer 202, each on a new connection so that every API process gets
    some; they also fill the processes' password caches."""
    headers = {"Authorization": authorization(), "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=10)
    ) as session:
        for n in range(3 + 8 * (processes - 1)):
            data = json.dumps({**body, "externalId": f"{run_id}-warmup-{n}"})
            async with session.post(base_url + ENDPOINT, data=data, headers=headers) as response:
                text = await response.text()
                if response.status != 202:
                    raise RuntimeError(f"warm-up POST answered {response.status}: {text[:300]}")


def choose_generator(config: Config) -> str:
    wrk = shutil.which("wrk")
    if config.generator == "wrk" and wrk is None:
        raise SystemExit("bench: BENCH_GENERATOR=wrk but wrk is not installed")
    if config.generator == "python" or wrk is None:
        return "python"
    return "wrk"


def generator_command(
    config: Config, generator: str, url: str, body_file: Path, run_id: str
) -> tuple[list[str], str, str]:
    """(argv, version, label) of the load generator; both print the same BENCH_JSON line."""
    if generator == "wrk":
        threads = max(1, min(config.concurrency, (os.cpu_count() or 1) // 4))
        argv = [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(config.concurrency),
            "-d",
            f"{config.seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA_SCRIPT),
            url,
            "--",
            str(body_file),
            authorization(),
            f"{run_id}-wrk",
        ]
        version = tool_version(["wrk", "--version"])
        label = f"wrk ({threads} thread{'s' if threads > 1 else ''})"
        return argv, version, label
    argv = [
        sys.executable,
        "-m",
        "bench.loadgen",
        url,
        str(body_file),
        authorization(),
        f"{run_id}-py",
        str(config.seconds),
        str(config.concurrency),
    ]
    version = f"python {platform.python_version()} aiohttp {aiohttp.__version__}"
    label = "python aiohttp (wrk not found)" if config.generator == "auto" else "python"
    return argv, version, label


async def ingest(
    config: Config,
    conn: asyncpg.Connection[Any],
    base_url: str,
    api: subprocess.Popen[bytes],
    workdir: Path,
    run_id: str,
    profile_dir: Path,
) -> dict[str, Any]:
    body = seed_body()
    await warm_up(base_url, body, run_id, config.api_processes)
    body_file = workdir / "body.json"
    body_file.write_text(json.dumps({**body, "externalId": PLACEHOLDER}), encoding="utf-8")
    generator = choose_generator(config)
    url = base_url + ENDPOINT
    argv, version, label = generator_command(config, generator, url, body_file, run_id)
    say(f"ingest: {label}, {config.concurrency} connections, {config.seconds}s against {url}")
    base_seq = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM inbound_queue")
    base_rows = await conn.fetchval("SELECT count(*) FROM inbound_queue")
    checkpoints_before = await checkpoints(conn)
    wal_before = await wal_bytes(conn)
    api_cpu_before = tree_cpu_seconds(api.pid)
    ticks_before = machine_ticks()
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    started = time.monotonic()
    output = asyncio.ensure_future(process.communicate())
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
    last = (started, 0)
    try:
        while not output.done():
            done, _ = await asyncio.wait({output}, timeout=PROGRESS_EVERY)
            if done:
                break
            now = time.monotonic()
            if now - started > config.seconds + 60:
                raise RuntimeError("the load generator ran 60 s past its time")
            stored = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM inbound_queue")
            stored -= base_seq
            rate = (stored - last[1]) / (now - last[0])
            say(f"ingest: {now - started:5.1f}s, {stored:,} stored ({rate:,.0f}/s lately)")
            last = (now, stored)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    stdout, stderr = await output
    api_cpu_after = tree_cpu_seconds(api.pid)
    machine_busy = busy_fraction(ticks_before, machine_ticks())
    profile_summary = await profiling if profiling is not None else None
    line = next(
        (ln for ln in stdout.decode(errors="replace").splitlines() if ln.startswith("BENCH_JSON ")),
        None,
    )
    if line is None:
        raise RuntimeError(
            f"{generator} printed no summary (exit {process.returncode}): "
            + (stderr or stdout).decode(errors="replace")[-1000:]
        )
    summary = json.loads(line.removeprefix("BENCH_JSON "))
    duration = summary["duration_us"] / 1e6
    accepted = int(summary["statuses"].get("202", 0))
    socket_errors = sum(summary["socket_errors"].values())
    stored = await conn.fetchval("SELECT count(*) FROM inbound_queue") - base_rows
    latency = {k: round(v / 1000, 2) for k, v in summary["latency_us"].items()}
    api_cpu = (
        None
        if api_cpu_before is None or api_cpu_after is None
        else round(api_cpu_after - api_cpu_before, 2)
    )
    result = {
        "generator": generator,
        "generator_label": label,
        "generator_version": version,
        "concurrency": config.concurrency,
        "api_processes": config.api_processes,
        "seconds": round(duration, 2),
        "requests": summary["requests"],
        "accepted": accepted,
        "accepted_per_s": round(accepted / duration, 1) if duration else 0.0,
        "errors": summary["non202"] + socket_errors,
        "statuses": summary["statuses"],
        "socket_errors": summary["socket_errors"],
        "latency_ms": latency,
        "rows_stored": stored,
        "api_cpu_seconds": api_cpu,
        "api_cpu_fraction": round(api_cpu / duration, 3) if api_cpu and duration else None,
        "machine_cpu_busy": machine_busy,
        "checkpoints": await checkpoints(conn) - checkpoints_before,
        "wal_mb": round((await wal_bytes(conn) - wal_before) / 2**20),
        "profile": profile_summary,
    }
    say(
        f"ingest: {accepted:,} accepted in {duration:.1f}s = {result['accepted_per_s']:,.0f}/s, "
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
