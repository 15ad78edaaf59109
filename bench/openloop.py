"""The latency phase's open-loop load generator: a separate process.

    python -m bench.openloop URL BODY_FILE AUTHORIZATION ID_PREFIX RATE SECONDS

Request n is due at start + n / RATE, whatever became of the earlier ones: a closed loop
sends its next request only when the last one is answered, so when the server slows it slows
too and the queueing never shows. Every due request is sent, late if need be, and how late is
recorded, so that a generator that can't keep its schedule shows in its figures rather than
as a quieter server. At most MAX_IN_FLIGHT requests are in flight; a send waiting for one of
them to end is late like any other. So that a step stays bounded in time, a send not made
GIVE_UP_AFTER seconds past the schedule's end is not made at all and counted as missed.

Each body is BODY_FILE with @@EXTERNAL_ID@@ replaced by ID_PREFIX-n. Every PROGRESS_EVERY
seconds it prints "PROGRESS {...}", at the end one line "BENCH_JSON {...}" (times in ms).
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench.stats import summary

PLACEHOLDER = "@@EXTERNAL_ID@@"
MAX_IN_FLIGHT = 1_000
REQUEST_TIMEOUT = 10.0
LATE_AFTER = 0.005  # seconds behind schedule that count a send as late
LEAD = 0.2  # seconds between setting up and the first due send
GIVE_UP_AFTER = 5.0  # seconds past the schedule's end after which a send not made is missed
PROGRESS_EVERY = 5.0


@dataclass(frozen=True)
class Schedule:
    """Fixed intervals: `total` sends, the n-th (from 0) due at start + n / rate."""

    start: float
    rate: float
    total: int

    def due(self, n: int) -> float:
        return self.start + n / self.rate

    def due_by(self, now: float) -> int:
        """How many sends are due at `now` (all those whose time has come)."""
        if now < self.start:
            return 0
        return min(self.total, math.floor((now - self.start) * self.rate + 1e-9) + 1)


def achieved_rate(sends: int, start: float, last_send: float, rate: float) -> float:
    """Sends per second over the span they took: `sends` over (last - start) plus one
    interval, which is `rate` exactly when every send was on time."""
    if sends <= 0:
        return 0.0
    return sends / (last_send - start + 1 / rate)


@dataclass
class Tally:
    """What the sends and their answers came to."""

    statuses: Counter[str]
    errors: Counter[str]
    lateness: list[float]
    latency_202: list[float]
    latency_all: list[float]
    last_send: float = 0.0
    in_flight: int = 0
    missed: int = 0

    def late(self) -> int:
        return sum(1 for value in self.lateness if value > LATE_AFTER)


async def send(
    session: aiohttp.ClientSession,
    url: str,
    data: bytes,
    headers: dict[str, str],
    due: float,
    tally: Tally,
    slots: asyncio.Semaphore,
    cutoff: float,
) -> None:
    async with slots:
        begun = time.monotonic()
        if begun > cutoff:
            tally.missed += 1
            return
        tally.lateness.append(max(0.0, begun - due))
        tally.last_send = max(tally.last_send, begun)
        tally.in_flight += 1
        try:
            async with session.post(url, data=data, headers=headers) as response:
                await response.read()
                status = str(response.status)
        except TimeoutError:
            tally.errors["timeout"] += 1
            return
        except aiohttp.ClientError as exc:
            tally.errors[type(exc).__name__] += 1
            return
        finally:
            tally.in_flight -= 1
        took = time.monotonic() - begun
        tally.statuses[status] += 1
        tally.latency_all.append(took)
        if status == "202":
            tally.latency_202.append(took)


def progress_line(tally: Tally, elapsed: float, due: int, since: tuple[float, int]) -> str:
    """`due` sends have come due; those actually sent are the ones whose lateness is known."""
    sent = len(tally.lateness)
    rate = (sent - since[1]) / max(1e-9, elapsed - since[0])
    return "PROGRESS " + json.dumps(
        {
            "elapsed": round(elapsed, 1),
            "due": due,
            "sent": sent,
            "send_rate": round(rate, 1),
            "late": tally.late(),
            "lateness_max_ms": round(max(tally.lateness, default=0.0) * 1000, 1),
            "in_flight": tally.in_flight,
            "accepted": tally.statuses.get("202", 0),
        }
    )


async def run(
    url: str, body: str, authorization: str, prefix: str, rate: float, seconds: float
) -> dict[str, Any]:
    head, _, tail = body.partition(PLACEHOLDER)
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    tally = Tally(Counter(), Counter(), [], [], [])
    slots = asyncio.Semaphore(MAX_IN_FLIGHT)
    tasks: set[asyncio.Task[None]] = set()
    connector = aiohttp.TCPConnector(limit=MAX_IN_FLIGHT)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        schedule = Schedule(time.monotonic() + LEAD, rate, max(1, round(rate * seconds)))
        cutoff = schedule.due(schedule.total) + GIVE_UP_AFTER
        sent = 0
        shown = (0.0, 0)
        while sent < schedule.total:
            now = time.monotonic()
            if now > cutoff:
                tally.missed += schedule.total - sent
                break
            for n in range(sent, schedule.due_by(now)):
                data = f"{head}{prefix}-{n}{tail}".encode()
                task = asyncio.create_task(
                    send(session, url, data, headers, schedule.due(n), tally, slots, cutoff)
                )
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            sent = max(sent, schedule.due_by(now))
            elapsed = now - schedule.start
            if elapsed - shown[0] >= PROGRESS_EVERY:
                print(progress_line(tally, elapsed, sent, shown), flush=True)
                shown = (elapsed, len(tally.lateness))
            if sent < schedule.total:
                await asyncio.sleep(max(0.0, schedule.due(sent) - time.monotonic()))
        await asyncio.gather(*tasks)
    late = tally.late()
    return {
        "cpu_seconds": round(time.process_time(), 2),
        "offered_per_s": rate,
        "scheduled": schedule.total,
        "sent": len(tally.lateness),
        "achieved_per_s": round(
            achieved_rate(len(tally.lateness), schedule.start, tally.last_send, rate), 1
        ),
        "seconds": round(tally.last_send - schedule.start, 2),
        "late": late,
        "missed": tally.missed,
        "late_share": round(late / max(1, len(tally.lateness)), 4),
        "late_after_ms": LATE_AFTER * 1000,
        "lateness_ms": {k: round(v * 1000, 2) for k, v in summary(tally.lateness).items()},
        "statuses": dict(tally.statuses),
        "errors": dict(tally.errors),
        "latency_202_ms": {k: round(v * 1000, 2) for k, v in summary(tally.latency_202).items()},
        "latency_all_ms": {k: round(v * 1000, 2) for k, v in summary(tally.latency_all).items()},
    }


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print(__doc__, file=sys.stderr)
        return 2
    url, body_file, authorization, prefix, rate, seconds = argv
    body = Path(body_file).read_text(encoding="utf-8")
    if PLACEHOLDER not in body:
        print(f"openloop: no {PLACEHOLDER} in {body_file}", file=sys.stderr)
        return 2
    try:
        import uvloop  # the API's own event loop: fewer CPU seconds per request

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        result = runner.run(run(url, body, authorization, prefix, float(rate), float(seconds)))
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
