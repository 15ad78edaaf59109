"""OrderHub as users run it: `orderhub serve` and some `orderhub worker` processes together.

Each phase starts its own and stops it, so that no phase inherits another's warm caches,
backlog or leaked memory, and so that a phase's RSS and CPU belong to its own processes. A
stack is ready when the API answers /ready and every worker has written its heartbeat; then a
few POSTs must answer 202 and, with workers, be processed.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.backlog import depth
from bench.body import seed_body
from bench.closedloop import warm_up
from bench.config import Config
from bench.progress import say
from bench.servers import Processes, Servers, stop_async

READY_TIMEOUT = 60.0


@dataclass
class Bench:
    """What every phase works with: the knobs, the servers and the run's own names."""

    config: Config
    conn: asyncpg.Connection[Any]
    servers: Servers
    procs: Processes
    base_url: str
    workdir: Path
    run_id: str
    profile_dir: Path
    postgres_pid: int | None = None


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


async def wait_workers(bench: Bench, workers: dict[str, subprocess.Popen[bytes]]) -> None:
    """Until every worker's heartbeat key is in Redis (written at the end of its start-up)."""
    from app.services import jobs

    client = jobs.client(bench.servers.redis_url)
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        while time.monotonic() < deadline:
            check_alive(bench.procs, workers)
            keys = [
                key.decode() for key in await client.keys(bench.servers.queue_name + ":worker:*")
            ]
            pids = {key.rsplit(":", 1)[1] for key in keys}
            if all(str(p.pid) in pids for p in workers.values()):
                return
            await asyncio.sleep(0.1)
    finally:
        await jobs.close(client)
    raise RuntimeError(f"workers not ready within {READY_TIMEOUT:.0f}s")


def check_alive(procs: Processes, named: dict[str, subprocess.Popen[bytes]]) -> None:
    for name, process in named.items():
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{procs.tail(name)}")


async def wait_empty(conn: asyncpg.Connection[Any], seconds: float) -> bool:
    """Whether inbound_queue emptied within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await depth(conn) == 0:
            return True
        await asyncio.sleep(0.2)
    return await depth(conn) == 0


@dataclass
class Stack:
    """The processes of one phase, by name ("api", "worker1", ...)."""

    bench: Bench
    phase: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        """For bench.memory.RssSampler: each process's pid (API children are found from it)."""
        return {name: p.pid for name, p in self.processes.items() if p.poll() is None}

    def group(self, prefix: str) -> list[int]:
        return [p.pid for name, p in self.processes.items() if name.startswith(prefix)]

    def check(self) -> None:
        check_alive(self.bench.procs, self.processes)

    async def start_api(self) -> None:
        config = self.bench.config
        say(f"{self.phase}: starting orderhub serve, {config.api_processes} process(es)")
        api = self.bench.procs.start("api", "serve")
        self.processes["api"] = api
        await wait_ready(self.bench.base_url, api, self.bench.procs)

    async def start_workers(
        self, count: int, prefix: str = "worker", jobs: str = "all", nice: int = 0
    ) -> None:
        """`jobs` as `orderhub worker --jobs`; `nice` as in Processes.start."""
        say(f"{self.phase}: starting {count} orderhub worker(s), --jobs {jobs}")
        started = {
            f"{prefix}{n}": self.bench.procs.start(
                f"{self.phase}-{prefix}{n}", "worker", "--jobs", jobs, nice=nice
            )
            for n in range(1, count + 1)
        }
        self.processes.update(started)
        await wait_workers(self.bench, started)

    async def stop(self, prefix: str = "") -> None:
        """Stops the processes whose names start with `prefix` (all by default), workers
        first so that none is left waiting on the API's backlog."""
        names = sorted(
            (n for n in self.processes if n.startswith(prefix)), key=lambda n: n == "api"
        )
        for name in names:
            await stop_async(self.bench.procs, self.processes.pop(name))


@contextlib.asynccontextmanager
async def running(
    bench: Bench, phase: str, workers: int, event_workers: int = 0, event_nice: int = 0
) -> AsyncIterator[Stack]:
    """The API and `workers` workers; warm-up POSTs answered 202 and, with workers,
    processed. With `event_workers`, the workers do order work only and that many more
    deliver events, at `event_nice`. Everything is stopped on the way out."""
    stack = Stack(bench, phase)
    try:
        await stack.start_api()
        if workers:
            await stack.start_workers(workers, jobs="orders" if event_workers else "all")
        if event_workers:
            await stack.start_workers(event_workers, "events", jobs="events", nice=event_nice)
        await warm_up(
            bench.base_url, seed_body(), f"{bench.run_id}-{phase}", bench.config.api_processes
        )
        if workers and not await wait_empty(bench.conn, READY_TIMEOUT):
            raise RuntimeError(f"{phase}: the warm-up orders were not processed")
        yield stack
    finally:
        await stack.stop()
