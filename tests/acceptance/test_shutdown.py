"""Stopping real processes: SIGTERM to an API process or a worker loses no request and no job,
and the children of `orderhub serve` and `orderhub dev` stop when their parent is SIGKILLed.

Every process here is started by the test and stopped by its pid; every wait polls to a
deadline. SHUTDOWN is each process's ORDERHUB_SHUTDOWN_SECONDS."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from redis.asyncio import Redis

from app.cli.embedded import free_port
from app.cli.parent import PARENT_PID_ENV
from app.settings import Settings
from tests.helpers.auth import auth
from tests.helpers.paths import REPO_ROOT
from tests.helpers.payloads import example
from tests.helpers.polling import wait_for, wait_for_async
from tests.helpers.processes import start, stop, wait_ready

ORDERS = "/api/sn_tmf_api/order/serviceOrder"
SHUTDOWN = 10.0
# Beyond SHUTDOWN: closing pools and exiting, on a busy machine.
EXIT_SLACK = 20.0
INTEGRATOR = auth("integrator")


def add_order(external_id: str) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(example("05_post_async")["body"])
    body["externalId"] = external_id
    return body


def env_for(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "ORDERHUB_QUEUE_NAME": settings.orderhub_queue_name,
        "PORT": str(port),
        "ORDERHUB_SHUTDOWN_SECONDS": str(SHUTDOWN),
        **extra,
    }


def alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet has exited)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children_of(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def refused(port: int) -> bool:
    """Nothing listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def exited_within(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The exit status, or None if still running after `timeout` (then it is killed)."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        stop(process, signal.SIGKILL)
        return None


def log_entries(log: Path) -> list[dict[str, Any]]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict):
            found.append(entry)
    return found


def events(log: Path) -> list[str]:
    return [str(entry.get("event")) for entry in log_entries(log)]


@pytest.fixture
async def db(demo_database_url: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    conn: asyncpg.Connection[Any] = await asyncpg.connect(demo_database_url)
    yield conn
    await conn.close()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Whatever a test starts, stopped afterwards (by pid) if it is still running."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in reversed(started):
        stop(process, signal.SIGKILL)


async def serve(
    settings: Settings, tmp_path: Path, processes: list[subprocess.Popen[bytes]], **extra: str
) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log = tmp_path / "serve.log"
    process = start("serve", env=env_for(settings, port, **extra), log=log)
    processes.append(process)
    await asyncio.to_thread(wait_ready, f"http://127.0.0.1:{port}", 60, process)
    return process, port, log


async def stored_ids(db: asyncpg.Connection[Any], prefix: str) -> list[str]:
    rows = await db.fetch(
        "SELECT id FROM inbound_queue WHERE payload->>'externalId' LIKE $1 || '%'", prefix
    )
    return [row["id"] for row in rows]


# ---------------------------------------------------------------------------------------------
# SIGTERM to an API process


@dataclass
class Outcome:
    started: float
    ended: float
    kind: str  # answered, refused (no connection), cut (connection lost without a whole answer)
    status: int | None = None
    body: Any = None
    error: str = ""


CLIENTS = 16
PER_CLIENT = 60
SIGTERM_AFTER = 120  # answers


async def test_sigterm_answers_every_request_it_took_and_refuses_the_rest(
    demo_settings: Settings,
    tmp_path: Path,
    db: asyncpg.Connection[Any],
    processes: list[subprocess.Popen[bytes]],
) -> None:
    """Concurrent clients post `mode=async`, each request on a new connection; SIGTERM comes
    mid-burst. Each request is answered whole (202, its entry stored) or, once the port is
    closed, refused at connect: none is cut off, none stored without its 202."""
    process, port, log = await serve(demo_settings, tmp_path, processes)
    url = f"http://127.0.0.1:{port}{ORDERS}?mode=async"
    prefix = f"STOP-{uuid.uuid4().hex[:6]}"
    outcomes: list[Outcome] = []
    sigterm_at = 0.0
    enough = asyncio.Event()

    async def client(n: int) -> None:
        connector = aiohttp.TCPConnector(force_close=True)
        timeout = aiohttp.ClientTimeout(total=SHUTDOWN + EXIT_SLACK)
        async with aiohttp.ClientSession(
            connector=connector, headers=INTEGRATOR, timeout=timeout
        ) as session:
            for k in range(PER_CLIENT):
                started = time.monotonic()
                try:
                    async with session.post(url, json=add_order(f"{prefix}-{n}-{k}")) as resp:
                        raw = await resp.read()
                        outcomes.append(
                            Outcome(started, time.monotonic(), "answered", resp.status, raw)
                        )
                except aiohttp.ClientConnectorError:
                    outcomes.append(Outcome(started, time.monotonic(), "refused"))
                    return
                except (aiohttp.ClientError, OSError) as exc:
                    outcomes.append(Outcome(started, time.monotonic(), "cut", error=repr(exc)))
                    return
                if sum(o.kind == "answered" for o in outcomes) >= SIGTERM_AFTER:
                    enough.set()

    clients = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
    await asyncio.wait_for(enough.wait(), 60)
    sigterm_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    await asyncio.gather(*clients)
    status = await asyncio.to_thread(exited_within, process, SHUTDOWN + EXIT_SLACK)

    kinds = Counter(o.kind for o in outcomes)
    assert kinds["cut"] == 0, [o.error for o in outcomes if o.kind == "cut"][:5]
    answered = [o for o in outcomes if o.kind == "answered"]
    assert Counter(o.status for o in answered) == {202: len(answered)}
    ids = [json.loads(o.body)["orderId"] for o in answered]
    in_flight = [o for o in answered if o.started < sigterm_at < o.ended]
    assert in_flight, "no request was in flight at SIGTERM: nothing was tested"
    late = [o for o in outcomes if o.kind == "refused"]
    assert late, "no request came after the port closed"
    assert all(o.started > sigterm_at for o in late)  # only once stopping
    assert sorted(await stored_ids(db, prefix)) == sorted(ids)  # every 202 stored, nothing else
    assert status == 0
    assert refused(port)
    assert {"api_stopping", "api_stopped"} <= set(events(log))
    print(
        f"\n[sigterm-api] answered={len(answered)} in_flight_at_sigterm={len(in_flight)}"
        f" refused={len(late)} stop_seconds={time.monotonic() - sigterm_at:.1f}"
    )


async def test_sigterm_waits_for_a_request_whose_body_is_still_arriving(
    demo_settings: Settings,
    tmp_path: Path,
    db: asyncpg.Connection[Any],
    processes: list[subprocess.Popen[bytes]],
) -> None:
    process, port, _ = await serve(demo_settings, tmp_path, processes)
    external_id = f"HALF-{uuid.uuid4().hex[:6]}"
    body = json.dumps(add_order(external_id)).encode()
    head = (
        f"POST {ORDERS}?mode=async HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: {INTEGRATOR['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + body[:10])
        await writer.drain()
        process.send_signal(signal.SIGTERM)
        await wait_for_async(lambda: asyncio.to_thread(refused, port), 15, "port closed")
        writer.write(body[10:])
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), SHUTDOWN + EXIT_SLACK)  # to EOF
    finally:
        writer.close()
    head_part, _, rest = answer.partition(b"\r\n\r\n")
    lines = head_part.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 202 Accepted"
    assert "connection: close" in [line.lower() for line in lines[1:]]
    queue_id = json.loads(rest)["orderId"]
    assert await stored_ids(db, external_id) == [queue_id]
    assert await asyncio.to_thread(exited_within, process, SHUTDOWN + EXIT_SLACK) == 0


# ---------------------------------------------------------------------------------------------
# SIGTERM to a worker


@pytest.mark.parametrize("grace", ["0.05", "5"], ids=["hand-back", "finish"])
async def test_sigterm_to_a_worker_mid_batch_loses_nothing(
    grace: str,
    demo_settings: Settings,
    tmp_path: Path,
    db: asyncpg.Connection[Any],
    processes: list[subprocess.Popen[bytes]],
) -> None:
    """The worker stops taking jobs, lets the running ones finish for ORDERHUB_SHUTDOWN_SECONDS
    (`grace`: too short for most jobs, or long enough) and hands the rest back: nothing is left
    marked in progress, so the next worker takes it all at once (after a SIGKILL it would wait
    for arq's in-progress keys to expire)."""
    total = 3000
    _, port, _ = await serve(demo_settings, tmp_path, processes)
    base = f"http://127.0.0.1:{port}"
    prefix = f"WSTOP-{uuid.uuid4().hex[:6]}"

    async def post(session: aiohttp.ClientSession, numbers: range) -> list[str]:
        ids = []
        for n in numbers:
            body = add_order(f"{prefix}-{n:05d}")
            async with session.post(f"{base}{ORDERS}?mode=async", json=body) as resp:
                assert resp.status == 202
                ids.append((await resp.json())["orderId"])
        return ids

    async with aiohttp.ClientSession(headers=INTEGRATOR) as session:
        posted = await asyncio.gather(*(post(session, range(n, total, 16)) for n in range(16)))
    ids = [queue_id for part in posted for queue_id in part]

    async def processed() -> int:
        count: int = await db.fetchval(
            "SELECT count(*) FROM inbound_processed WHERE id = ANY($1::text[])", ids
        )
        return count

    env = env_for(demo_settings, port, ORDERHUB_SHUTDOWN_SECONDS=grace)
    worker_log = tmp_path / "worker-a.log"
    worker = start("worker", env=env, log=worker_log)
    processes.append(worker)

    async def started_some() -> bool:
        assert worker.poll() is None, f"worker exited with {worker.returncode}"
        return await processed() >= 100

    await wait_for_async(started_some, 60, "the first worker processing", 0.02)
    worker.send_signal(signal.SIGTERM)
    status = await asyncio.to_thread(exited_within, worker, float(grace) + EXIT_SLACK)
    done_at_stop = await processed()
    assert status == 0
    assert "worker_stopped" in events(worker_log)
    assert done_at_stop < total, "the worker finished before SIGTERM: nothing was tested"
    redis = Redis.from_url(demo_settings.redis_url)
    try:
        in_progress = [await redis.exists(f"arq:in-progress:{queue_id}") for queue_id in ids]
    finally:
        await redis.aclose()
    assert sum(in_progress) == 0

    second = start("worker", env=env, log=tmp_path / "worker-b.log")
    processes.append(second)

    async def all_done() -> bool:
        assert second.poll() is None, f"worker exited with {second.returncode}"
        return await processed() == total

    await wait_for_async(all_done, 90, f"all {total} entries processed", 0.2)
    states = await db.fetch(
        "SELECT state, count(*) AS n FROM inbound_processed WHERE id = ANY($1::text[])"
        " GROUP BY state",
        ids,
    )
    assert {row["state"]: row["n"] for row in states} == {"done": total}
    orders = await db.fetchval(
        "SELECT count(*) FROM service_order WHERE external_id LIKE $1 || '%'", prefix
    )
    assert orders == total  # none lost, none twice
    stopping = [e for e in log_entries(worker_log) if e.get("event") == "worker_jobs_handed_back"]
    print(f"\n[sigterm-worker grace={grace}] done_at_stop={done_at_stop} {stopping}")


# ---------------------------------------------------------------------------------------------
# SIGKILL of a supervisor


def test_sigkill_of_serve_stops_both_api_processes(
    demo_settings: Settings, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    env = env_for(demo_settings, port, ORDERHUB_API_PROCESSES="2")
    supervisor = start("serve", env=env, log=tmp_path / "serve.log")
    processes.append(supervisor)
    wait_ready(f"http://127.0.0.1:{port}", 60, supervisor)
    children = wait_for(
        lambda: len(kids := children_of(supervisor.pid)) == 2 and kids, 30, "two API children"
    )
    stop(supervisor, signal.SIGKILL)
    try:
        wait_for(lambda: not any(alive(pid) for pid in children), 15, f"{children} gone")
    finally:
        for pid in children:  # started by this test, through the supervisor
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    wait_for(lambda: refused(port), 5, f"port {port} free")


def test_sigkill_of_dev_stops_api_worker_and_stub(
    demo_settings: Settings, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    """On external servers, so that only the three children are started."""
    port, stub_port = free_port(), free_port()
    env = env_for(demo_settings, port, STUB_PORT=str(stub_port))
    dev = start("dev", env=env, log=tmp_path / "dev.log")
    processes.append(dev)
    wait_ready(f"http://127.0.0.1:{port}", 60, dev)
    children = wait_for(
        lambda: len(kids := children_of(dev.pid)) == 3 and kids, 30, "api, worker and stub"
    )
    stop(dev, signal.SIGKILL)
    try:
        wait_for(lambda: not any(alive(pid) for pid in children), 15, f"{children} gone")
    finally:
        for pid in children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    wait_for(lambda: refused(port) and refused(stub_port), 5, "ports free")


# The parent-death arrangement on its own: a child of a short-lived parent.
_CHILD = """
import os, sys, time
from app.cli.parent import stop_with_parent
stop_with_parent(os.environ, kernel=sys.argv[1] == "kernel")
print(os.getpid(), flush=True)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    time.sleep(0.05)
"""
_PARENT = """
import os, subprocess, sys, time
env = {**os.environ, "ORDERHUB_PARENT_PID": str(os.getpid())}
subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], env=env, start_new_session=True)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    time.sleep(0.05)
"""


@pytest.mark.parametrize("how", ["kernel", "poll"])
def test_a_child_stops_when_its_parent_is_killed(how: str) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _CHILD, how],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    child = 0
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert alive(child)
        stop(parent, signal.SIGKILL)
        wait_for(lambda: not alive(child), 10, f"child {child} gone")
    finally:
        stop(parent, signal.SIGKILL)
        if parent.stdout is not None:
            parent.stdout.close()
        if child and alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_child_whose_parent_died_before_it_ran_stops_at_once() -> None:
    """The variable names a parent that is not this child's parent any more."""
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, "kernel"],
        cwd=REPO_ROOT,
        env={**os.environ, PARENT_PID_ENV: "1"},
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert exited_within(child, 30) == -signal.SIGTERM
