"""The servers and processes a run starts, and the CPU they use.

Everything runs on private servers (or a private database and queue name on the given ones)
so that a run neither sees nor leaves anything of another, and every process is stopped by
its own pid so that nothing else on the machine is touched. CPU time comes from /proc, read
before and after a phase, because it tells whether a process was CPU-bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from app.cli.embedded import EmbeddedPostgres, EmbeddedRedis
from bench.config import REPO_ROOT
from bench.progress import say

CLI_MODULE = "app.cli.main"
STOP_TIMEOUT = 30.0


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


def lower_priority(nice: int) -> None:
    """In the new process, before it runs: `nice -n`, and the same for its scheduling group.
    Linux with autogroup weighs sessions against each other first, and each process here is a
    session of its own (start_new_session), so a plain nice would count only inside it."""
    os.nice(nice)
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text(str(nice))


class Processes:
    """OrderHub processes this run started; each is stopped by its own pid."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.running: list[subprocess.Popen[bytes]] = []

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None, nice: int = 0
    ) -> subprocess.Popen[bytes]:
        """`nice` above 0: the process runs at that lower CPU priority (see lower_priority)."""
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", CLI_MODULE, *args],
                preexec_fn=(lambda: lower_priority(nice)) if nice else None,
                cwd=REPO_ROOT,
                env=self.env if env is None else env,
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


async def stop_async(procs: Processes, process: subprocess.Popen[bytes]) -> int:
    """Stopping waits for the process to exit; in a thread, so that the event loop goes on."""
    return await asyncio.to_thread(procs.stop, process)


def tool_version(argv: list[str]) -> str:
    """The first line a tool prints about its version, so that the JSON says which wrk or
    pgbench made the figures."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process, from /proc (None where unavailable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def tree_cpu_seconds(pid: int) -> float | None:
    """cpu_seconds of a process and its children: with several API processes, the serve
    process only waits and its children do the work."""
    total = cpu_seconds(pid)
    for child in child_pids(pid):
        total = None if total is None else total + (cpu_seconds(child) or 0.0)
    return total


def machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of the whole machine since boot, from /proc/stat: everything
    shares the machine, so a phase's figures mean little without how busy it was."""
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


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may hold spaces), None once it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def parent_pid(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def cpu_seconds_with_reaped(pid: int) -> float | None:
    """cpu_seconds plus what its children that have exited used (cutime, cstime)."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(pid: int) -> float | None:
    """CPU seconds of a server's process tree: the postmaster, its live backends and those that
    have exited (the postmaster reaps them, so theirs is in its cutime). Unlike
    tree_cpu_seconds, a backend that ends within a window still counts."""
    total = cpu_seconds_with_reaped(pid)
    if total is None:
        return None
    return total + sum(cpu_seconds_with_reaped(child) or 0.0 for child in child_pids(pid))


async def postgres_pid(conn: asyncpg.Connection[Any]) -> int | None:
    """The postmaster's pid, as the parent of this connection's backend: the same for the
    embedded server and a local DATABASE_URL (whose tree then holds every database's
    backends), None when /proc doesn't show it (a remote server)."""
    backend: int = await conn.fetchval("SELECT pg_backend_pid()")
    parent = parent_pid(backend)
    return parent if parent and parent > 1 else None
