"""`mode=async` under faults, against real `orderhub serve` / `orderhub worker` processes.

Each test runs its own API and workers on a fresh clone of the demo database, with a Redis
queue name of its own, and talks HTTP to 127.0.0.1 only. Every wait is bounded; every process a
test starts is stopped by pid when it ends. The invariants checked are DESIGN.md's: an order
answered 202 is never lost and never created twice, whatever is killed, flushed or cut.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import random
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import pytest
from redis.asyncio import Redis

from app.cli.embedded import free_port
from app.domain import messages as m
from app.services.jobs import BATCH_SIZE, connect
from tests.helpers.auth import auth
from tests.helpers.databases import RUN_ID
from tests.helpers.payloads import change_order, example
from tests.helpers.polling import wait_for_async
from tests.helpers.processes import start, stop, wait_ready
from tests.helpers.tcp_proxy import TcpProxy

ORDERS = "/api/sn_tmf_api/order/serviceOrder"
FIREWALL_INVENTORY = "4b5072aec3a83010abc8b5183c40dd42"  # active, at the headquarters
ROUTER_INVENTORY = "326d13f45b5620102dff5e92dc81c785"  # active, at the headquarters
INACTIVE_INVENTORY = "1d7382cfc3aa221ee6a3929d130de861"  # inactive, at the branch office
HEADQUARTERS = "920cf6ac73d423002728660c4cf6a799"
BRANCH_OFFICE = "5671dd2ec3a53010188473ce3640dd81"
SWEEP_AFTER_SECONDS = 2
CLIENTS = 32
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)
LOCATION_NOT_FOUND = "Invalid payload: Location does not exist."


ADD_EXAMPLE = example("05_post_async")["body"]


def add_order(external_id: str) -> dict[str, Any]:
    body = copy.deepcopy(ADD_EXAMPLE)
    body["externalId"] = external_id
    return body


def invalid_field(message: str, datapath: str) -> dict[str, Any]:
    """The error object a failed entry keeps (and GET by id shows)."""
    return {
        "code": 24,
        "reason": "Invalid body field",
        "message": "Invalid body field",
        "details": [{"message": message, "datapath": datapath}],
    }


# ---------------------------------------------------------------------------------------------
# Processes, HTTP and database helpers


@dataclass
class System:
    """The processes of one test, all started with the same environment, all stopped by pid."""

    tmp_path: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    entry_ids: list[str] = field(default_factory=list)  # whose arq keys to drop afterwards

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_path(self, name: str) -> Path:
        return self.tmp_path / f"{name}.log"

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        env = {**self.env, "PORT": str(self.port)}
        process = start(*args, env=env, log=self.log_path(name))
        self.processes.append(process)
        return process

    async def serve(self) -> subprocess.Popen[bytes]:
        process = self.start("serve", "serve")
        await asyncio.to_thread(wait_ready, self.base, 30, process)
        return process

    def worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self.start(name, "worker")

    async def accept(self, bodies: list[dict[str, Any]], clients: int = CLIENTS) -> list[str]:
        """Posts every body `mode=async` from concurrent clients; all must answer 202."""
        ids = accepted_ids(await post_all(self.base, bodies, clients))
        self.entry_ids.extend(ids)
        return ids

    def stop_all(self) -> None:
        for process in reversed(self.processes):
            stop(process, signal.SIGTERM, timeout=15)

    def events(self, name: str) -> list[dict[str, Any]]:
        """The JSON log lines a process wrote."""
        found = []
        for line in self.log_path(name).read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return [e for e in found if isinstance(e, dict)]


@pytest.fixture
async def system(tmp_path: Path, demo_database_url: str, redis_url: str) -> AsyncIterator[System]:
    queue = f"orderhub-faults-{RUN_ID}-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": demo_database_url,
        "REDIS_URL": redis_url,
        "ORDERHUB_QUEUE_NAME": queue,
        "ORDERHUB_SWEEP_AFTER_SECONDS": str(SWEEP_AFTER_SECONDS),
        "ORDERHUB_LOG_LEVEL": "info",
    }
    running = System(tmp_path, env)
    try:
        yield running
    finally:
        running.stop_all()
        redis = Redis.from_url(running.env["REDIS_URL"])
        try:
            # The queue's own keys, and the per-job keys arq names by job id (= an entry id),
            # which a killed worker's jobs leave behind.
            keys = [key async for key in redis.scan_iter(match=f"{queue}*")]
            keys += [
                f"{kind}{queue_id}"
                for queue_id in running.entry_ids
                for kind in ("arq:job:", "arq:in-progress:", "arq:retry:", "arq:result:")
            ]
            for start_at in range(0, len(keys), 1000):
                await redis.delete(*keys[start_at : start_at + 1000])
        finally:
            await redis.aclose()


@pytest.fixture
async def db(demo_database_url: str) -> AsyncIterator[asyncpg.Connection[Any]]:
    """A direct connection to the test database (never through a proxy) for checks."""
    conn: asyncpg.Connection[Any] = await asyncpg.connect(demo_database_url)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    yield conn
    await conn.close()


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    seconds: float


async def call(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None, **params: str
) -> Reply:
    started = time.monotonic()
    async with session.request(method, url, json=body, params=params or None) as resp:
        raw = await resp.read()
        parsed = json.loads(raw) if raw else None
        return Reply(resp.status, parsed, dict(resp.headers), time.monotonic() - started)


async def post_async(session: aiohttp.ClientSession, base: str, body: dict[str, Any]) -> Reply:
    return await call(session, "POST", f"{base}{ORDERS}", body, mode="async")


async def with_clients(
    count: int, work: Callable[[list[aiohttp.ClientSession]], Awaitable[Any]]
) -> Any:
    """`count` independent clients (sessions with their own connections), as upstream systems."""
    async with AsyncExitStack() as stack:
        sessions = [
            await stack.enter_async_context(
                aiohttp.ClientSession(headers=auth("integrator"), timeout=HTTP_TIMEOUT)
            )
            for _ in range(count)
        ]
        return await work(sessions)


async def post_all(base: str, bodies: list[dict[str, Any]], clients: int = CLIENTS) -> list[Reply]:
    """Posts every body `mode=async`, spread over concurrent clients each posting in turn."""
    replies: list[Reply | None] = [None] * len(bodies)

    async def client(session: aiohttp.ClientSession, indexes: Iterable[int]) -> None:
        for index in indexes:
            replies[index] = await post_async(session, base, bodies[index])

    async def work(sessions: list[aiohttp.ClientSession]) -> None:
        await asyncio.gather(
            *(client(s, range(n, len(bodies), len(sessions))) for n, s in enumerate(sessions))
        )

    await with_clients(clients, work)
    assert all(r is not None for r in replies)
    return [r for r in replies if r is not None]


def accepted_ids(replies: list[Reply]) -> list[str]:
    assert [r.status for r in replies] == [202] * len(replies), Counter(
        (r.status, json.dumps(r.body)[:200]) for r in replies if r.status != 202
    )
    ids = [r.body["orderId"] for r in replies]
    assert all(set(r.body) == {"orderId"} for r in replies)
    assert len(set(ids)) == len(ids)
    return ids


async def count_queued(db: asyncpg.Connection[Any], ids: list[str]) -> int:
    found: int = await db.fetchval(
        "SELECT count(*) FROM inbound_queue WHERE id = ANY($1::text[])", ids
    )
    return found


async def count_processed(db: asyncpg.Connection[Any], ids: list[str]) -> int:
    found: int = await db.fetchval(
        "SELECT count(*) FROM inbound_processed WHERE id = ANY($1::text[])", ids
    )
    return found


async def wait_drained(
    db: asyncpg.Connection[Any],
    ids: list[str],
    within: float,
    workers: Iterable[subprocess.Popen[bytes]] = (),
) -> float:
    """Seconds until none of `ids` is still queued; fails after `within` seconds, or as soon
    as one of `workers` exits."""
    started = time.monotonic()

    async def drained() -> bool:
        for worker in workers:
            assert worker.poll() is None, f"worker {worker.pid} exited with {worker.returncode}"
        return await count_queued(db, ids) == 0

    await wait_for_async(drained, within, f"all {len(ids)} entries out of the queue", 0.2)
    return time.monotonic() - started


async def wait_processed(
    db: asyncpg.Connection[Any], ids: list[str], count: int, worker: subprocess.Popen[bytes]
) -> None:
    """Until `worker` has processed at least `count` of `ids` (and is still running)."""

    async def enough() -> bool:
        assert worker.poll() is None, f"worker {worker.pid} exited with {worker.returncode}"
        return await count_processed(db, ids) >= count

    await wait_for_async(enough, 60, f"{count} of {len(ids)} entries processed", 0.02)


async def processed_states(db: asyncpg.Connection[Any], ids: list[str]) -> dict[str, Any]:
    rows = await db.fetch(
        "SELECT id, state, error, order_id, attempts FROM inbound_processed"
        " WHERE id = ANY($1::text[])",
        ids,
    )
    return {row["id"]: row for row in rows}


async def assert_created_exactly(
    db: asyncpg.Connection[Any], done: list[str], external_prefix: str
) -> None:
    """Exactly one service_order per done entry, under the entry's id, and no other new one."""
    rows = await db.fetch(
        "SELECT sys_id, count(*) AS n FROM service_order WHERE sys_id = ANY($1::text[])"
        " GROUP BY sys_id",
        done,
    )
    assert {r["sys_id"] for r in rows} == set(done)
    by_external = await db.fetchval(
        "SELECT count(*) FROM service_order WHERE external_id LIKE $1 || '%'", external_prefix
    )
    assert by_external == len(done)
    items = await db.fetchval(
        "SELECT count(*) FROM order_line_item WHERE order_id = ANY($1::text[])", done
    )
    assert items == len(done)  # every order here has one item: no half or doubled order


def report(name: str, **figures: Any) -> None:
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))


# ---------------------------------------------------------------------------------------------
# 1. Many concurrent clients, valid and invalid orders


def _mixed_cases(prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """1,000 bodies: valid adds, four ways to fail in processing, one way to fail up front."""
    plan = {
        "valid": 780,
        "unknown_specification": 50,
        "unknown_account": 50,
        "inactive_inventory": 20,  # change orders on one inventory: they queue behind each other
        "unknown_location": 50,
        "no_items": 50,
    }
    cases: list[tuple[str, dict[str, Any]]] = []
    for kind, count in plan.items():
        for n in range(count):
            external_id = f"{prefix}-{kind}-{n:04d}"
            if kind == "inactive_inventory":
                body = change_order(
                    external_id, INACTIVE_INVENTORY, "Firewall Security", "Premium", BRANCH_OFFICE
                )
            else:
                body = add_order(external_id)
            if kind == "unknown_specification":
                spec = body["serviceOrderItem"][0]["service"]["serviceSpecification"]
                spec["id"] = f"no-such-spec-{n}"
            elif kind == "unknown_account":
                body["relatedParty"][1]["id"] = f"no-such-account-{n}"
            elif kind == "unknown_location":
                body["serviceOrderItem"][0]["place"]["id"] = f"no-such-place-{n}"
            elif kind == "no_items":
                del body["serviceOrderItem"]
            cases.append((kind, body))
    random.Random(641).shuffle(cases)
    return cases


EXPECTED_ERRORS = {
    "unknown_specification": invalid_field(
        m.POST_SPECIFICATION_NOT_FOUND, "/serviceOrderItem/0/service/serviceSpecification"
    ),
    "unknown_account": invalid_field(m.POST_CUSTOMER_ACCOUNT_NOT_FOUND, "/relatedParty/1/id"),
    "inactive_inventory": invalid_field(
        m.POST_SOLD_PRODUCT_INACTIVE, "/serviceOrderItem/0/service/id"
    ),
    "unknown_location": invalid_field(LOCATION_NOT_FOUND, "/serviceOrderItem/0/place/id"),
}


async def test_concurrent_clients_every_accepted_order_ends_done_or_error(
    system: System, db: asyncpg.Connection[Any]
) -> None:
    started = time.monotonic()
    before = await db.fetchval("SELECT count(*) FROM service_order")
    await system.serve()
    worker = system.worker()
    prefix = f"MIX-{uuid.uuid4().hex[:6]}"
    cases = _mixed_cases(prefix)

    posting = time.monotonic()
    replies = await post_all(system.base, [body for _, body in cases])
    posting = time.monotonic() - posting

    kinds: dict[str, str] = {}
    for (kind, _), reply in zip(cases, replies, strict=True):
        if kind == "no_items":
            assert reply.status == 400
            assert (reply.body["code"], reply.body["reason"]) == (23, "Missing body field")
            assert reply.body["details"][0]["message"] == m.POST_ITEM_MISSING
        else:
            assert reply.status == 202, reply.body
            assert set(reply.body) == {"orderId"}
            kinds[reply.body["orderId"]] = kind
    ids = list(kinds)
    system.entry_ids.extend(ids)
    assert len(ids) == 950  # fresh externalIds: no two posts replay each other

    draining = await wait_drained(db, ids, 90, [worker])
    states = await processed_states(db, ids)
    assert set(states) == set(ids)
    done = [i for i in ids if kinds[i] == "valid"]
    for queue_id, row in states.items():
        kind = kinds[queue_id]
        if kind == "valid":
            assert (row["state"], row["order_id"], row["error"]) == ("done", queue_id, None)
        else:
            assert row["state"] == "error" and row["order_id"] is None
            assert row["error"] == EXPECTED_ERRORS[kind], (kind, row["error"])
    await assert_created_exactly(db, done, prefix)
    assert await db.fetchval("SELECT count(*) FROM service_order") == before + len(done)

    # What a client polling GET by id sees: the stored error object, or the order.
    failed = [i for i in ids if kinds[i] != "valid"]
    sample = [*failed, *random.Random(7).sample(done, 50)]

    async def read_back(sessions: list[aiohttp.ClientSession]) -> list[Reply]:
        async def one(n: int, queue_id: str) -> Reply:
            return await call(
                sessions[n % len(sessions)], "GET", f"{system.base}{ORDERS}/{queue_id}"
            )

        return await asyncio.gather(*(one(n, i) for n, i in enumerate(sample)))

    for queue_id, reply in zip(sample, await with_clients(8, read_back), strict=True):
        assert reply.status == 200
        if kinds[queue_id] == "valid":
            assert reply.body["id"] == queue_id and reply.body["state"] == "new"
        else:
            assert reply.body == EXPECTED_ERRORS[kinds[queue_id]]
    report(
        "mixed",
        posted=len(cases),
        accepted=len(ids),
        refused_400=len(cases) - len(ids),
        done=len(done),
        errors=Counter(kinds[i] for i in failed),
        post_seconds=round(posting, 1),
        drain_seconds=round(draining, 1),
        total_seconds=round(time.monotonic() - started, 1),
    )


# ---------------------------------------------------------------------------------------------
# 2. SIGKILL of a worker in the middle of draining


async def in_progress_jobs(redis_url: str, ids: list[str]) -> int:
    redis = Redis.from_url(redis_url)
    try:
        keys = [k.decode() async for k in redis.scan_iter(match="arq:in-progress:*", count=1000)]
    finally:
        await redis.aclose()
    wanted = set(ids)
    return sum(1 for k in keys if k.removeprefix("arq:in-progress:") in wanted)


async def test_sigkill_of_a_worker_mid_drain_loses_nothing_and_doubles_nothing(
    system: System, db: asyncpg.Connection[Any]
) -> None:
    """What brings the killed worker's in-flight entries back (workers/settings.py, arq 0.28):

    - arq starts a job only while no `arq:in-progress:<job id>` key exists, and a worker sets
      that key for the longest timeout of *any* of its functions + 10 s. The sweep cron's 60 s
      makes that 70 s (not the 40 s that process_inbound's 30 s suggests): A's own jobs are not
      re-run before then.
    - The sweeper (at worker start and every 5 s) stamps queued entries whose enqueued_at is
      older than ORDERHUB_SWEEP_AFTER_SECONDS and enqueues them in chunks of BATCH_SIZE under
      the chunk's first entry id. A chunk whose first id is a live job (one of A's) is a no-op
      for that pass; any other chunk re-triggers A's orphaned entries at once.

    So recovery usually takes a sweep or two and at worst ~70 s plus a sweep; the wait allows
    110 s. The rows (locked and moved in the transaction that writes the order, rolled back
    when A's connections dropped) make the late reruns of A's jobs do nothing."""
    started = time.monotonic()
    total = 2000
    await system.serve()
    prefix = f"KILL-{uuid.uuid4().hex[:6]}"
    ids = await system.accept([add_order(f"{prefix}-{n:05d}") for n in range(total)])
    assert await count_queued(db, ids) == total
    accepted_at = time.monotonic()

    worker_a = system.worker("worker-a")
    await wait_processed(db, ids, 150, worker_a)
    stop(worker_a, signal.SIGKILL)
    killed_at = time.monotonic()
    done_at_kill = await count_processed(db, ids)
    in_flight = await in_progress_jobs(system.env["REDIS_URL"], ids)
    assert 0 < done_at_kill < total, done_at_kill

    worker_b = system.worker("worker-b")
    draining = await wait_drained(db, ids, 110, [worker_b])

    states = await processed_states(db, ids)
    assert len(states) == total
    assert Counter(row["state"] for row in states.values()) == {"done": total}
    assert all(row["order_id"] == queue_id for queue_id, row in states.items())
    await assert_created_exactly(db, ids, prefix)
    report(
        "sigkill",
        entries=total,
        done_when_killed=done_at_kill,
        in_flight_when_killed=in_flight,
        a_ran_seconds=round(killed_at - accepted_at, 1),
        recovered_seconds_after_kill=round(draining, 1),
        max_attempts=max(row["attempts"] for row in states.values()),
        total_seconds=round(time.monotonic() - started, 1),
    )


# ---------------------------------------------------------------------------------------------
# 3. Every Redis key lost while entries are queued


def redis_db_of_its_own(url: str) -> str:
    """FLUSHDB empties a whole Redis database. The rest of the suite (and, with a shared
    REDIS_URL, other people's runs) keep their keys in the URL's database, so this test moves to
    database 7 (8 if the URL already names 7), where a flush can only take its own triggers."""
    parts = urlsplit(url)
    current = parts.path.strip("/") or "0"
    return urlunsplit(parts._replace(path="/8" if current == "7" else "/7"))


async def test_flushed_redis_is_recovered_by_the_sweeper(
    system: System, db: asyncpg.Connection[Any]
) -> None:
    started = time.monotonic()
    total = 500
    system.env["REDIS_URL"] = redis_db_of_its_own(system.env["REDIS_URL"])
    queue = system.env["ORDERHUB_QUEUE_NAME"]
    await system.serve()
    prefix = f"FLUSH-{uuid.uuid4().hex[:6]}"
    ids = await system.accept([add_order(f"{prefix}-{n:04d}") for n in range(total)])

    redis = connect(system.env["REDIS_URL"], queue)
    try:
        # The API enqueues after the commit, off the response path: wait until a queued job
        # names every accepted entry, so that the flush below takes them all.
        async def enqueued() -> int:
            queued = await redis.queued_jobs(queue_name=queue)
            named = {queue_id for job in queued for queue_id in job.args[0]}
            return len(queued) if named >= set(ids) else 0

        jobs = await wait_for_async(enqueued, 10, f"all {total} entries enqueued", 0.2)
        assert jobs >= total // BATCH_SIZE  # one job per accepted batch of at most BATCH_SIZE
        await redis.flushdb()
        assert await redis.dbsize() == 0
    finally:
        await redis.aclose(close_connection_pool=True)  # connect() hands it a pool of its own
    assert await count_queued(db, ids) == total  # the record is in PostgreSQL, untouched

    flushed_at = time.monotonic()
    worker = system.worker()
    draining = await wait_drained(db, ids, 45, [worker])
    states = await processed_states(db, ids)
    assert Counter(row["state"] for row in states.values()) == {"done": total}
    await assert_created_exactly(db, ids, prefix)

    def swept_all() -> int:
        """What the sweeper logged it enqueued, once that is every entry (else 0)."""
        events = system.events("worker")
        swept = sum(e.get("enqueued", 0) for e in events if e.get("event") == "inbound_swept")
        return swept if swept >= total else 0

    # The sweeper logs what it enqueued after it has: read the worker's log until it says so.
    swept = await wait_for_async(swept_all, 10, f"{total} entries swept")
    report(
        "flushdb",
        entries=total,
        redis_db=urlsplit(system.env["REDIS_URL"]).path,
        jobs_flushed=jobs,
        swept_enqueues=swept,
        recovered_seconds=round(draining, 1),
        since_flush_seconds=round(time.monotonic() - flushed_at, 1),
        total_seconds=round(time.monotonic() - started, 1),
    )


# ---------------------------------------------------------------------------------------------
# 4. PostgreSQL unreachable for a few seconds while draining


def through(proxy: TcpProxy, dsn: str) -> str:
    parts = urlsplit(dsn)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{proxy.port}" if userinfo else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, (reply.status, reply.body)
    assert reply.body["code"] == 2 and reply.body["reason"] == "Temporarily unavailable"
    assert set(reply.body) == {"code", "reason", "message", "details"}
    assert reply.headers.get("Retry-After", "").isdigit()


async def test_postgres_outage_mid_drain_answers_503_and_loses_nothing(
    system: System, db: asyncpg.Connection[Any], demo_database_url: str
) -> None:
    started = time.monotonic()
    total = 600
    target = urlsplit(demo_database_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    proxy.start()
    try:
        system.env["DATABASE_URL"] = through(proxy, demo_database_url)
        await system.serve()
        prefix = f"CUT-{uuid.uuid4().hex[:6]}"
        bodies = [add_order(f"{prefix}-{n:04d}") for n in range(total)]
        ids = await system.accept(bodies)
        worker = system.worker()
        await wait_processed(db, ids, 100, worker)

        async def outage(
            sessions: list[aiohttp.ClientSession],
        ) -> tuple[list[Reply], list[Reply], list[dict[str, Any]], int, int]:
            posts: list[Reply] = []
            readies: list[Reply] = []
            refused: list[dict[str, Any]] = []
            proxy.cut()
            cut_at = time.monotonic()
            done_at_cut = await count_processed(db, ids)
            n = 0
            while time.monotonic() - cut_at < 3.0:
                body = add_order(f"{prefix}-outage-{n:03d}")
                post, ready = await asyncio.gather(
                    post_async(sessions[0], system.base, body),
                    call(sessions[1], "GET", f"{system.base}/ready"),
                )
                posts.append(post)
                readies.append(ready)
                refused.append(body)
                n += 1
                # The behaviour under test: a client posting every 0.2 s through a 3 s
                # outage. Not a wait for another process.
                await asyncio.sleep(0.2)
            done_during = await count_processed(db, ids) - done_at_cut
            proxy.restore()
            return posts, readies, refused, done_at_cut, done_during

        posts, readies, refused, done_before, done_during = await with_clients(2, outage)
        restored_at = time.monotonic()
        for reply in [*posts, *readies]:
            assert_unavailable(reply)
        assert all("PostgreSQL unreachable" in r.body["details"][0]["message"] for r in readies)
        assert done_before < total, "the worker finished before the cut; nothing was tested"

        await asyncio.to_thread(wait_ready, system.base, 20, None)
        # A client whose POST got 503 sends it again; those are new entries, each accepted once.
        again = await system.accept(refused, clients=4)
        everything = [*ids, *again]
        draining = await wait_drained(db, everything, 60, [worker])

        states = await processed_states(db, everything)
        assert Counter(row["state"] for row in states.values()) == {"done": len(everything)}
        await assert_created_exactly(db, everything, prefix)
        per_external = await db.fetch(
            "SELECT external_id, count(*) AS n FROM service_order WHERE external_id LIKE $1"
            " GROUP BY external_id HAVING count(*) > 1",
            f"{prefix}-%",
        )
        assert per_external == []
        statuses = Counter(
            e.get("status") for e in system.events("serve") if e.get("event") == "request"
        )
        assert not [s for s in statuses if isinstance(s, int) and s >= 500 and s != 503]
        retries = sum(1 for e in system.events("worker") if e.get("event") == "inbound_retry")
        report(
            "postgres-cut",
            entries=len(everything),
            done_before_cut=done_before,
            done_during_cut=done_during,  # commits already on their way when the cut came
            posts_503=len(posts),
            ready_503=len(readies),
            slowest_503_seconds=round(max(r.seconds for r in [*posts, *readies]), 2),
            worker_retries=retries,
            proxy_aborted=proxy.aborted,
            drain_after_restore_seconds=round(time.monotonic() - restored_at, 1),
            drain_seconds=round(draining, 1),
            max_attempts=max(row["attempts"] for row in states.values()),
            total_seconds=round(time.monotonic() - started, 1),
        )
    finally:
        system.stop_all()
        proxy.close()


# ---------------------------------------------------------------------------------------------
# 5. Arrival order per product inventory with two workers


async def test_changes_to_one_inventory_take_effect_in_arrival_order(
    system: System, db: asyncpg.Connection[Any]
) -> None:
    """Every entry is queued before two workers start, so both compete for the same chains.

    A worker takes a batch of entries in one transaction. Entries of one batch take effect
    together (one commit); across transactions, the witness of the order in which entries took
    effect is inbound_processed.processed_at: clock_timestamp() of the statement that moves the
    entries, in the very transaction that writes their orders, which can only run after every
    earlier entry on the inventory left the queue. (service_order.created_at is the
    transaction's start time: when a worker began trying, not when the order took effect.)"""
    started = time.monotonic()
    length = 30
    await system.serve()
    prefix = f"SEQ-{uuid.uuid4().hex[:6]}"
    chains = {
        FIREWALL_INVENTORY: ("Firewall Security", HEADQUARTERS),
        ROUTER_INVENTORY: ("Router Size", HEADQUARTERS),
    }
    arrival: dict[str, list[tuple[str, str]]] = {inv: [] for inv in chains}

    async def sequence(session: aiohttp.ClientSession, inventory: str) -> None:
        characteristic, place = chains[inventory]
        for n in range(length):
            value = f"seq-{n:03d}"
            body = change_order(
                f"{prefix}-{inventory[:6]}-{n:03d}", inventory, characteristic, value, place
            )
            reply = await post_async(session, system.base, body)
            assert reply.status == 202, reply.body
            arrival[inventory].append((reply.body["orderId"], value))

    async def unrelated(session: aiohttp.ClientSession, n: int) -> list[str]:
        replies = [
            await post_async(session, system.base, add_order(f"{prefix}-add-{n}-{k:03d}"))
            for k in range(40)
        ]
        return accepted_ids(replies)

    async def work(sessions: list[aiohttp.ClientSession]) -> list[list[str]]:
        results = await asyncio.gather(
            sequence(sessions[0], FIREWALL_INVENTORY),
            sequence(sessions[1], ROUTER_INVENTORY),
            *(unrelated(s, n) for n, s in enumerate(sessions[2:])),
        )
        return [r for r in results if r is not None]

    adds = [i for batch in await with_clients(6, work) for i in batch]
    chain_ids = [queue_id for inv in chains for queue_id, _ in arrival[inv]]
    everything = [*chain_ids, *adds]
    system.entry_ids.extend(everything)
    for inventory in chains:
        ids = [queue_id for queue_id, _ in arrival[inventory]]
        queued = await db.fetch(
            "SELECT id FROM inbound_queue WHERE id = ANY($1::text[]) ORDER BY seq", ids
        )
        assert [r["id"] for r in queued] == ids  # arrival order is the queue's order

    workers = [system.worker("worker-1"), system.worker("worker-2")]
    draining = await wait_drained(db, everything, 60, workers)
    states = await processed_states(db, everything)
    assert Counter(row["state"] for row in states.values()) == {"done": len(everything)}

    created_at_inversions = 0
    transactions: set[str] = set()
    for inventory, (characteristic, _) in chains.items():
        rows = await db.fetch(
            """
            SELECT p.id, v.value, p.processed_at, so.created_at, p.xmin::text AS txid
              FROM inbound_processed p
              JOIN service_order so ON so.sys_id = p.order_id
              JOIN order_line_item li ON li.order_id = so.sys_id
              JOIN order_characteristic_value v ON v.line_item = li.sys_id AND v.name = $3
             WHERE li.inventory = $1 AND p.id = ANY($2::text[])
            """,
            inventory,
            [queue_id for queue_id, _ in arrival[inventory]],
            characteristic,
        )
        assert sorted((r["id"], r["value"]) for r in rows) == sorted(arrival[inventory])
        position = {queue_id: n for n, (queue_id, _) in enumerate(arrival[inventory])}
        rows = sorted(rows, key=lambda r: position[r["id"]])  # arrival order
        for i, earlier in enumerate(rows):
            for later in rows[i + 1 :]:
                if earlier["txid"] != later["txid"]:
                    assert earlier["processed_at"] < later["processed_at"], (earlier, later)
        transactions.update(r["txid"] for r in rows)
        created = [r["created_at"] for r in rows]
        created_at_inversions += sum(1 for a, b in itertools.pairwise(created) if b < a)
    report(
        "ordering",
        chains=f"2x{length}",
        unrelated=len(adds),
        workers=len(workers),
        drain_seconds=round(draining, 1),
        max_chain_attempts=max(states[i]["attempts"] for i in chain_ids),
        chain_transactions=len(transactions),
        created_at_inversions=created_at_inversions,
        total_seconds=round(time.monotonic() - started, 1),
    )


# ---------------------------------------------------------------------------------------------
# 6. Redis out of reach for a worker, then back


async def test_worker_outlives_redis_out_of_reach_and_goes_on(
    system: System, db: asyncpg.Connection[Any], redis_url: str
) -> None:
    """The worker's Redis connections are cut and refused for a while; the worker logs the
    outage, keeps running, and drains what the API queued meanwhile once Redis is back."""
    started = time.monotonic()
    target = urlsplit(redis_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 6379)
    proxy.start()
    try:
        await system.serve()  # the API reaches Redis directly
        system.env["REDIS_URL"] = through(proxy, redis_url)
        worker = system.worker()
        system.env["REDIS_URL"] = redis_url  # for the fixture's clean-up
        prefix = f"RCUT-{uuid.uuid4().hex[:6]}"
        before = await system.accept([add_order(f"{prefix}-a-{n:03d}") for n in range(50)])
        await wait_drained(db, before, 60, [worker])

        def tried_again() -> bool:
            """Whether the worker, still running, has tried Redis a third time."""
            assert worker.poll() is None, f"worker exited with {worker.returncode}"
            events = system.events("worker")
            return sum(e.get("event") == "worker_redis_unavailable" for e in events) >= 3

        proxy.cut()
        cut_at = time.monotonic()
        during = await system.accept([add_order(f"{prefix}-b-{n:03d}") for n in range(50)])
        await wait_for_async(tried_again, 30, "the worker to try Redis three times")
        assert await count_queued(db, during) == len(during)  # nothing processed while cut
        proxy.restore()
        restored_at = time.monotonic()
        draining = await wait_drained(db, during, 60, [worker])
        states = await processed_states(db, [*before, *during])
        assert Counter(row["state"] for row in states.values()) == {"done": 100}
        await assert_created_exactly(db, [*before, *during], prefix)
        back = [e for e in system.events("worker") if e.get("event") == "worker_redis_back"]
        assert back, "the worker did not log Redis back"
        report(
            "redis-cut",
            entries=len(before) + len(during),
            outage_seconds=round(restored_at - cut_at, 1),
            failures_logged=back[0].get("failures"),
            drain_after_restore_seconds=round(draining, 1),
            total_seconds=round(time.monotonic() - started, 1),
        )
    finally:
        system.stop_all()
        proxy.close()
