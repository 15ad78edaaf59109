"""The events phase: event notifications delivered to hub subscribers (docs/api.md#event-
notifications), against `orderhub stub` as the listener, all on 127.0.0.1: the API, 2 order
workers and 2 event workers (`orderhub worker --jobs orders|events`), the event workers and
the listener at the lowest CPU priority (EVENTS_NICE).

1. Delivery rate, to 1 and to 10 subscribers: with the API alone (no worker), the subscriptions
   registered and BENCH_EVENTS_ORDERS orders created by sync POSTs, each order's
   ServiceOrderCreateEvent waits for every subscriber; then the event workers start and deliver
   them. Events delivered per second is what the listener received over its first to its last
   receipt.
2. Delay from commit to receipt, to 1 and to 10 subscribers: all workers running, orders
   created at BENCH_EVENTS_RATE a second for BENCH_EVENTS_SECONDS; for each delivery, the
   listener's receipt time minus the event row's insert time (in the transaction of the
   change, a few milliseconds before its commit). p50 and p99.
3. Order intake with 10 subscribers registered (and being delivered to) against none, and
   against 10 whose query wants none of the intake's events (events raised, rendered and
   matched, but not written): ingest's closed-loop async load for BENCH_SECONDS with all
   workers, as the capacity phase, accepted/s and orders processed/s over the same window.

Bounded in time: each wait has a deadline; the stub, the API and the workers are stopped by
pid. Run alone: `BENCH_PHASES=events make bench` or `python -m bench.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import time
from statistics import median
from typing import Any

import aiohttp
import asyncpg

from app.cli.embedded import free_port
from app.services.jobs import events_queue
from bench.backlog import clear_queue, db_now
from bench.body import authorization, seed_body
from bench.closedloop import closed_loop
from bench.progress import say
from bench.report import Row, fmt
from bench.stack import Bench, running
from bench.stats import summary

HUB = "/tmf-api/serviceOrdering/v4/hub"
ORDERS = "/api/sn_tmf_api/order/serviceOrder"
WORKERS = 2
EVENT_WORKERS = 2
# The event workers and the listener run at the lowest CPU priority: on one machine this
# stands for what a deployment gives them, CPU of their own (the listener is the subscriber's
# machine), so that they take only what order intake leaves (docs/operations.md).
EVENTS_NICE = 19
SUBSCRIBERS = (1, 10)
POST_CONCURRENCY = 8
WAIT_SECONDS = 120.0
PROCESSED_BETWEEN = """
SELECT count(*) FROM inbound_processed WHERE processed_at BETWEEN $1 AND $2
"""


def _number(name: str, default: int) -> int:
    return max(1, int(os.environ.get(name, str(default))))


def knobs() -> dict[str, int]:
    return {
        "orders": _number("BENCH_EVENTS_ORDERS", 500),
        "rate": _number("BENCH_EVENTS_RATE", 20),
        "seconds": _number("BENCH_EVENTS_SECONDS", 15),
        "rounds": _number("BENCH_EVENTS_ROUNDS", 2),
    }


class Listener:
    """`orderhub stub` on a free port, its listener at /listener/<n> for subscriber n."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        env = {**self.bench.procs.env, "STUB_PORT": str(self.port), "STUB_CALLBACK_URL": ""}
        self.process = self.bench.procs.start("events-stub", "stub", env=env, nice=EVENTS_NICE)
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                try:
                    async with session.get(self.url + "/health") as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("the stub did not start")

    async def received(self) -> list[dict[str, Any]]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            async with session.get(self.url + "/stub/events") as resp:
                found: list[dict[str, Any]] = await resp.json()
        return found

    async def forget(self) -> None:
        async with aiohttp.ClientSession() as session:
            async with session.delete(self.url + "/stub/events") as resp:
                await resp.read()

    async def until(self, count: int) -> list[dict[str, Any]]:
        """What it received, once it holds `count` deliveries (or WAIT_SECONDS passed)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            found = await self.received()
            ok = [e for e in found if e["status"] == 200]
            if len(ok) >= count or time.monotonic() > deadline:
                return ok
            await asyncio.sleep(0.5)


async def subscribe(bench: Bench, listener: Listener, count: int, query: str = "") -> list[str]:
    ids = []
    headers = {"Authorization": authorization()}
    async with aiohttp.ClientSession(headers=headers) as session:
        for n in range(count):
            body = {"callback": f"{listener.url}/listener/{n}", "query": query}
            async with session.post(bench.base_url + HUB, json=body) as resp:
                created = await resp.json()
                assert resp.status == 201, created
                ids.append(created["id"])
    return ids


async def unsubscribe(bench: Bench, ids: list[str]) -> None:
    headers = {"Authorization": authorization()}
    async with aiohttp.ClientSession(headers=headers) as session:
        for subscription in ids:
            async with session.delete(f"{bench.base_url}{HUB}/{subscription}") as resp:
                await resp.read()


def _order(run_id: str, n: int) -> dict[str, Any]:
    body = seed_body()
    body["externalId"] = f"{run_id}-ev-{n}"
    return body


async def create_orders(bench: Bench, count: int, tag: str, rate: float | None = None) -> int:
    """`count` orders by sync POST: as fast as POST_CONCURRENCY clients go, or at `rate`."""
    created = 0
    started = time.monotonic()
    headers = {"Authorization": authorization()}
    async with aiohttp.ClientSession(headers=headers) as session:
        semaphore = asyncio.Semaphore(POST_CONCURRENCY * 4)

        async def one(n: int) -> None:
            nonlocal created
            if rate is not None:
                await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            async with semaphore:
                body = _order(f"{bench.run_id}-{tag}", n)
                async with session.post(bench.base_url + ORDERS, json=body) as resp:
                    await resp.read()
                    created += resp.status == 201

        if rate is None:
            for first in range(0, count, POST_CONCURRENCY):
                await asyncio.gather(
                    *(one(n) for n in range(first, min(count, first + POST_CONCURRENCY)))
                )
        else:
            await asyncio.gather(*(one(n) for n in range(count)))
    return created


def _at(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def delivery_rate(bench: Bench, listener: Listener, subscribers: int) -> dict[str, Any]:
    orders = knobs()["orders"]
    async with running(bench, f"events-rate{subscribers}", 0) as stack:
        ids = await subscribe(bench, listener, subscribers)
        await listener.forget()
        made = await create_orders(bench, orders, f"r{subscribers}")
        say(f"events: {made} orders made, {made * subscribers:,} deliveries pending; workers start")
        await stack.start_workers(EVENT_WORKERS, "events", jobs="events", nice=EVENTS_NICE)
        got = await listener.until(made * subscribers)
        await unsubscribe(bench, ids)
    times = sorted(_at(e["receivedAt"]) for e in got)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    result = {
        "subscribers": subscribers,
        "orders": made,
        "delivered": len(got),
        "unique": len({(e["path"], e["eventId"]) for e in got}),
        "seconds": round(span, 2),
        "events_per_s": round(len(got) / span, 1) if span else None,
    }
    say(
        f"events: {result['delivered']:,} deliveries to {subscribers} subscriber(s) in "
        f"{span:.1f}s = {result['events_per_s']}/s"
    )
    return result


async def commit_to_receipt(bench: Bench, listener: Listener, subscribers: int) -> dict[str, Any]:
    k = knobs()
    count = k["rate"] * k["seconds"]
    async with running(bench, f"events-delay{subscribers}", WORKERS, EVENT_WORKERS, EVENTS_NICE):
        ids = await subscribe(bench, listener, subscribers)
        await listener.forget()
        made = await create_orders(bench, count, f"d{subscribers}", rate=k["rate"])
        got = await listener.until(made * subscribers)
        rows = await bench.conn.fetch(
            "SELECT event_id, extract(epoch FROM created_at)::float8 AS at FROM order_event"
            " WHERE event_id = ANY($1)",
            list({e["eventId"] for e in got}),
        )
        await unsubscribe(bench, ids)
    raised = {r["event_id"]: r["at"] for r in rows}
    delays = [
        (_at(e["receivedAt"]) - raised[e["eventId"]]) * 1000 for e in got if e["eventId"] in raised
    ]
    result = {
        "subscribers": subscribers,
        "rate": k["rate"],
        "orders": made,
        "delivered": len(got),
        "delay_ms": {key: round(v, 1) for key, v in summary(delays).items()},
    }
    lat = result["delay_ms"]
    say(
        f"events: commit to receipt, {subscribers} subscriber(s) at {k['rate']} orders/s: "
        f"p50 {lat['p50']} ms, p99 {lat['p99']} ms over {len(delays):,} deliveries"
    )
    return result


# Subscribers that want no event of an intake: events are raised (rendered and matched) for
# them, but none is written or delivered.
NOTHING_WANTED = "eventType=ServiceOrderDeleteEvent"
# Two runs of the same load on this kind of machine differ by up to some 10%.
UNCHANGED = 0.9


async def clear_events(bench: Bench) -> None:
    """The last run's events, deliveries and delivery jobs gone, every table vacuumed and a
    checkpoint: a run must not pay for the one before (the rows it wrote and deleted left
    autovacuum work that fell on the next runs, its writes dirty pages to flush)."""
    from app.services import jobs

    await bench.conn.execute("DELETE FROM event_delivery; DELETE FROM order_event")
    await bench.conn.execute("VACUUM (ANALYZE)")
    with contextlib.suppress(asyncpg.InsufficientPrivilegeError):  # a DATABASE_URL's user
        await bench.conn.execute("CHECKPOINT")
    client = jobs.client(bench.servers.redis_url)
    try:
        await client.delete(events_queue(bench.servers.queue_name))
    finally:
        await jobs.close(client)


async def intake(
    bench: Bench, listener: Listener, subscribers: int, query: str = "", turn: int = 1
) -> dict[str, Any]:
    """`turn` makes the run's name, and so its orders' externalIds, its own: a second run
    under the same name would be answered from the first one's idempotency claims."""
    await clear_queue(bench.conn, bench.servers)
    await clear_events(bench)
    name = f"events-intake{subscribers}{'-none-wanted' if query else ''}-{turn}"
    async with running(bench, name, WORKERS, EVENT_WORKERS, EVENTS_NICE) as stack:
        ids = await subscribe(bench, listener, subscribers, query)

        async def tick(elapsed: float) -> None:
            stack.check()

        first = await db_now(bench.conn)
        load = await closed_loop(
            bench.config, bench.base_url, bench.workdir, f"{bench.run_id}-{name}", name, tick
        )
        last = await db_now(bench.conn)
        processed = await bench.conn.fetchval(PROCESSED_BETWEEN, first, last)
        await unsubscribe(bench, ids)
    window = (last - first).total_seconds()
    result = {
        "subscribers": subscribers,
        "query": query,
        "accepted_per_s": load["accepted_per_s"],
        "processed_per_s": round(processed / window, 1) if window else None,
        "p99_ms": load["latency_ms"]["p99"],
    }
    say(
        f"events: intake with {subscribers} subscriber(s): {result['accepted_per_s']:,.0f} "
        f"accepted/s, {result['processed_per_s']} processed/s"
    )
    await clear_queue(bench.conn, bench.servers)
    return result


async def events_phase(bench: Bench) -> dict[str, Any]:
    env = bench.procs.env
    allowed = env.get("ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS")
    env["ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS"] = "true"  # the listener is on 127.0.0.1
    listener = Listener(bench)
    await listener.start()
    try:
        result: dict[str, Any] = {"knobs": knobs()}
        result["rate"] = [await delivery_rate(bench, listener, n) for n in SUBSCRIBERS]
        result["delay"] = [await commit_to_receipt(bench, listener, n) for n in SUBSCRIBERS]
        # Alternated, so that the machine's drift falls on both alike.
        result["intake"] = []
        for turn in range(1, result["knobs"]["rounds"] + 1):
            result["intake"].append(await intake(bench, listener, 0, turn=turn))
            result["intake"].append(await intake(bench, listener, 10, turn=turn))
        result["intake"].append(await intake(bench, listener, 10, NOTHING_WANTED))
    finally:
        await asyncio.to_thread(bench.procs.stop, listener.process)
        if allowed is None:
            env.pop("ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS", None)
        else:
            env["ORDERHUB_HUB_ALLOW_PRIVATE_CALLBACKS"] = allowed
    return result


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "n/a"


def events_rows(result: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for r in result["rate"]:
        rows.append(
            (
                f"events/s to {r['subscribers']} subscriber(s)",
                fmt(r["events_per_s"], 1),
                f"{fmt(r['delivered'])} of {fmt(r['orders'] * r['subscribers'])} delivered "
                f"in {r['seconds']:.1f} s, {EVENT_WORKERS} event workers",
            )
        )
    for r in result["delay"]:
        lat = r["delay_ms"]
        rows.append(
            (
                f"commit to receipt, {r['subscribers']} subscriber(s)",
                f"p50 {lat['p50']:.0f} / p99 {lat['p99']:.0f} ms",
                f"{fmt(r['delivered'])} deliveries, {r['rate']} orders/s",
            )
        )
    none, ten, unwanted = (
        [r for r in result["intake"] if (r["subscribers"], bool(r["query"])) == kind]
        for kind in ((0, False), (10, False), (10, True))
    )
    figures = (("accepted_per_s", "intake accepted/s"), ("processed_per_s", "processed/s"))
    for figure, name in figures:
        medians = [median(r[figure] for r in runs) for runs in (none, ten, unwanted)]
        rows.append(
            (
                f"{name}: none / 10 subscribers / 10 wanting none (median)",
                " / ".join(fmt(m) for m in medians),
                "runs: "
                + "; ".join(
                    ", ".join(fmt(r[figure]) for r in runs) for runs in (none, ten, unwanted)
                ),
            )
        )
        unchanged = f">= {UNCHANGED:.2f}x: unchanged within the machine's noise"
        if figure == "accepted_per_s":
            rows.append(
                (f"{name}: 10 subscribers / none", _ratio(medians[1], medians[0]), unchanged)
            )
            continue
        rows.append(
            (
                f"{name}: 10 subscribers / none",
                _ratio(medians[1], medians[0]),
                "no target: each event is rendered in the transaction of its change",
            )
        )
        rows.append((f"{name}: 10 wanting none / none", _ratio(medians[2], medians[0]), unchanged))
    return rows


if __name__ == "__main__":
    import sys

    from bench.run import main

    os.environ["BENCH_PHASES"] = "events"
    sys.exit(main())
