"""Delivering events to hub subscribers: the dispatcher that fans events out into deliveries
and asks for jobs, a job per subscriber, and the sweeper.

The dispatcher, woken by the NOTIFY of a commit that raised events, fans them out into
deliveries (app/store/deliveries.py) and asks for one job per subscriber that got some (the
fan-out's own NOTIFY names them to every event worker), under the subscriber's own job id:
while that job is queued or running a second is not queued, and the running job takes the new
deliveries itself (it looks for more before it ends, and asks for a job again if any came due
after its last look). The sweeper, every SWEEP_INTERVAL, fans out what is left and asks the
database which subscribers have a delivery due and not leased, and asks for their jobs the
same way: it finds what a lost notification, a lost job or a killed worker left.

A subscriber's job works its lanes (one lane: its events of one order) side by side, each
lane's oldest delivery first and one at a time under a lease, so the subscriber gets the
events of one order in the order they happened, and those of many orders at once. A job may
run twice, or beside another of the same subscriber in another worker: the leases keep them
apart. Every POST of one event carries the same `webhook-id` (its eventId), so a subscriber
can drop a duplicate (after a worker was killed mid-POST).

A slow or dead subscriber holds one of a worker's job slots, with at most
ORDERHUB_EVENT_SUBSCRIBER_CONCURRENCY POSTs in flight, and a circuit breaker of its own that
parks its job while it fails; the rest of the worker (order intake, SOM/TOM sends, other
subscribers) goes on. One job per subscriber, not per event, also keeps the job queue short:
ten subscribers of a thousand orders a second are ten jobs, not ten thousand a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import aiohttp
import asyncpg
from arq import Retry

from app import logs, metrics
from app.domain.backoff import retry_delay
from app.domain.breaker import CircuitBreaker
from app.domain.outbound_retries import RetryPolicy, parked_for
from app.domain.webhooks import headers as signed
from app.services import deliveries as delivery_service
from app.services.deliveries import Attempt
from app.services.jobs import DELIVER_EVENTS
from app.store import db, deliveries
from app.store.deliveries import CHANNEL
from app.store.hub import Target

log = logs.get("orderhub.worker.events")
# Events one fan-out statement turns into deliveries, and the rest after it, in multiples of
# the time it took.
FAN_OUT_BATCH = 200
FAN_OUT_REST = 9.0
# Between two sweeps, and the longest a dispatcher sleeps without a notification.
SWEEP_INTERVAL = 2.0
# After a dispatch, before the next: commits close together share one round of jobs.
DISPATCH_PAUSE = 0.05
# After the listening connection is lost, before it is made again.
RECONNECT_SECONDS = 1.0
# A job works its subscriber's lanes for this long, then hands over to a new run.
JOB_BUDGET_SECONDS = 5.0
# Subscribers one worker process delivers to at once; a job beyond waits its turn in Redis.
MAX_SUBSCRIBER_JOBS = 16
TURN_WAIT_SECONDS = 0.5
# POSTs one worker process has in flight to all subscribers together: deliveries take a
# bounded share of the process beside order intake and sends to SOM/TOM.
MAX_POSTS = 16
# Looks for more due deliveries before a job with nothing left ends.
IDLE_ROUNDS = 4
IDLE_WAIT_SECONDS = 0.05
DELIVER_MAX_TRIES = 1_000_000

_ACTIVE: Counter[str] = Counter()
_BREAKERS: dict[str, CircuitBreaker] = {}


def _breaker(ctx: dict[str, Any], subscription: str) -> CircuitBreaker:
    settings = ctx["settings"]
    if subscription not in _BREAKERS:
        _BREAKERS[subscription] = CircuitBreaker(
            settings.orderhub_breaker_threshold, settings.orderhub_breaker_cooldown_seconds
        )
    return _BREAKERS[subscription]


def retry_policy(ctx: dict[str, Any]) -> RetryPolicy:
    settings = ctx["settings"]
    return RetryPolicy(
        give_up_after=settings.orderhub_event_give_up_seconds,
        backoff_cap=settings.orderhub_event_backoff_cap_seconds,
    )


def job_id(subscription: str) -> str:
    return f"deliver:{subscription}"


async def enqueue(
    redis: Any, subscriptions: list[str], *, defer: float | None = None, own: bool = False
) -> int:
    """`own`: a job id of its own, for a job asking for its successor (under the subscriber's
    id the running job itself would swallow the request); else the subscriber's id, so that
    requests while its job waits or runs make no second one. Returns the jobs queued."""
    queued = await asyncio.gather(
        *(
            redis.enqueue_job(
                DELIVER_EVENTS,
                s,
                _job_id=f"{job_id(s)}:{uuid4().hex[:12]}" if own else job_id(s),
                _defer_by=defer,
            )
            for s in subscriptions
        )
    )
    return sum(job is not None for job in queued)


async def _post(ctx: dict[str, Any], attempt: Attempt) -> tuple[int | None, str]:
    timeout = aiohttp.ClientTimeout(total=ctx["settings"].orderhub_event_timeout_seconds)
    sent_headers = {
        "Content-Type": "application/json",
        **signed(attempt.target.secret, attempt.head.event_id, int(time.time()), attempt.body),
    }
    try:
        async with ctx["hub_http"].post(
            attempt.target.callback, data=attempt.body, headers=sent_headers, timeout=timeout
        ) as resp:
            text = (await resp.text(errors="replace"))[:200]
            return resp.status, f"HTTP {resp.status} {text}".strip()
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        return None, f"no answer from the subscriber ({type(exc).__name__})"


async def deliver_events(ctx: dict[str, Any], subscription: str) -> str:
    """One subscriber's due deliveries, for up to JOB_BUDGET_SECONDS."""
    if _ACTIVE[subscription]:
        return "busy"  # this worker's job of the subscriber looks again before it ends
    if sum(_ACTIVE.values()) >= MAX_SUBSCRIBER_JOBS:
        raise Retry(defer=random.uniform(TURN_WAIT_SECONDS / 2, TURN_WAIT_SECONDS))
    _ACTIVE[subscription] += 1
    try:
        outcome = await _deliver(ctx, subscription)
    except Retry:
        raise
    except Exception as exc:
        if db.is_transient(exc):
            delay = retry_delay(ctx.get("job_try", 1))
            log.warning("events_job_retry", subscription=subscription, error=repr(exc))
            raise Retry(defer=delay) from exc
        raise
    finally:
        _ACTIVE[subscription] -= 1
    if outcome == "done":
        # Deliveries committed after the last look, whose request this running job swallowed.
        async with ctx["pool"].acquire() as conn:
            if await delivery_service.has_due(conn, subscription):
                await enqueue(ctx["redis"], [subscription], own=True)
    return outcome


class _Run:
    """One job's work on one subscriber: its lanes side by side, the POSTs bounded."""

    def __init__(self, ctx: dict[str, Any], target: Target) -> None:
        settings = ctx["settings"]
        self.ctx = ctx
        self.target = target
        self.slots = asyncio.Semaphore(settings.orderhub_event_subscriber_concurrency)
        # The worker's, shared by its jobs (arq copies ctx per job, not what it holds).
        self.posts: asyncio.Semaphore = ctx.get("event_posts") or asyncio.Semaphore(MAX_POSTS)
        self.lease = settings.orderhub_event_timeout_seconds + 10
        self.deadline = time.monotonic() + JOB_BUDGET_SECONDS
        self.circuit = _breaker(ctx, target.id)
        self.retry_in: float | None = None  # the soonest a lane of this run is due again
        self.suspended = False
        self.tripped = False  # the subscriber's breaker opened during this run

    def over(self) -> bool:
        return self.suspended or self.tripped or time.monotonic() > self.deadline

    async def lane(self, order_id: str) -> str:
        """The lane's deliveries one after the other, until none is due or the run is over;
        "done" when the lane was worked to its end."""
        fields = {"subscription": self.target.id, "order_id": order_id}
        while not self.over():
            async with self.slots, self.posts:
                async with self.ctx["pool"].acquire() as conn:
                    attempt = await delivery_service.next_attempt(
                        conn, self.target, order_id, self.lease
                    )
                if isinstance(attempt, str):
                    return attempt
                status, reason = await _post(self.ctx, attempt)
            async with self.ctx["pool"].acquire() as conn:
                outcome, latency = await delivery_service.attempted(
                    conn, attempt, status, reason, retry_policy(self.ctx)
                )
            event = {"event_id": attempt.head.event_id, "attempt": attempt.head.attempts, **fields}
            _count(outcome.kind)
            if outcome.kind == "delivered":
                self.circuit.success()
                if latency is not None:
                    metrics.EVENT_DELIVERY_LATENCY.observe(latency)
                log.info("event_delivered", status=status, **event)
                continue
            if status is None or status >= 500 or status in (408, 429):
                self.circuit.failure()
                self.tripped |= self.circuit.is_open
            else:
                self.circuit.success()  # it answered: it is up, it refused this one
            if outcome.kind == "retry":
                assert outcome.retry_in is not None
                log.info("event_retry", status=status, retry_in=round(outcome.retry_in, 2), **event)
                self.retry_in = min(self.retry_in or outcome.retry_in, outcome.retry_in)
                return "retry"
            log.warning(
                "event_dead", status=status, reason=reason, suspended=outcome.suspend, **event
            )
            self.suspended |= outcome.suspend
        return "over"


async def _deliver(ctx: dict[str, Any], subscription: str) -> str:
    settings = ctx["settings"]
    circuit = _breaker(ctx, subscription)
    wait = circuit.wait()
    if wait > 0:
        _count("parked")
        raise Retry(defer=parked_for(wait, settings.orderhub_breaker_cooldown_seconds))
    async with ctx["pool"].acquire() as conn:
        target = await delivery_service.target(conn, subscription)
    if target is None:
        return "gone"
    run = _Run(ctx, target)
    skipped: set[str] = set()
    width = settings.orderhub_event_subscriber_concurrency * 4
    idle = 0
    while not run.over():
        async with ctx["pool"].acquire() as conn:
            lanes = [
                o
                for o in await delivery_service.due_lanes(conn, subscription, width * 2)
                if o not in skipped
            ][:width]
        if not lanes:
            # Events keep coming while orders change: a job that lingers a moment takes the
            # next ones itself rather than ending and leaving them to a new job.
            if idle >= IDLE_ROUNDS:
                break
            idle += 1
            await asyncio.sleep(IDLE_WAIT_SECONDS)
            continue
        idle = 0
        ends = await asyncio.gather(*(run.lane(order_id) for order_id in lanes))
        # A lane not due, or leased by another worker, is not looked at again in this run:
        # it would come back at every round.
        skipped.update(o for o, end in zip(lanes, ends, strict=True) if end != "done")
    if run.suspended:
        return "suspended"
    if run.retry_in is not None:
        await enqueue(ctx["redis"], [subscription], defer=run.retry_in, own=True)
    if run.tripped or time.monotonic() > run.deadline:
        _, wait = circuit.status()
        await enqueue(ctx["redis"], [subscription], defer=wait or None, own=True)
        return "handed over"
    return "done"


def _count(outcome: str) -> None:
    """orderhub_event_deliveries_total: delivered, retry, dead, parked (breaker open)."""
    metrics.EVENT_DELIVERIES.labels(outcome).inc()


@dataclass(frozen=True)
class FanOut:
    subscriptions: list[str]  # those that got deliveries
    more: bool  # events are left to fan out
    rest: float  # seconds to wait before the next batch


async def fan_out(ctx: dict[str, Any]) -> FanOut:
    """One batch of events turned into deliveries (nothing when another worker is at it: it
    does the same). The rest asked for after it bounds the share of PostgreSQL a burst of
    events takes from order work to 1 / (1 + FAN_OUT_REST) of a core: fanning out far ahead of
    what the subscribers are sent buys nothing. It grows when PostgreSQL is busy."""
    began = time.monotonic()
    async with ctx["pool"].acquire() as conn:
        done = await deliveries.fan_out(conn, FAN_OUT_BATCH)
    rest = (time.monotonic() - began) * FAN_OUT_REST
    if done is None:
        return FanOut([], False, rest)
    return FanOut(done.subscriptions, done.events == FAN_OUT_BATCH, rest)


async def sweep_events(ctx: dict[str, Any]) -> int:
    """Jobs for the subscribers with a delivery due and not leased."""
    async with ctx["pool"].acquire() as conn:
        found = await deliveries.due_subscriptions(conn)
    queued = await enqueue(ctx["redis"], found) if found else 0
    if queued:
        log.info("events_swept", subscriptions=queued)
    return queued


class Notified:
    """What the NOTIFYs since the last look said: events raised (an empty payload), and
    subscriptions that got deliveries."""

    def __init__(self) -> None:
        self.raised = False
        self.subscriptions: set[str] = set()
        self.wake = asyncio.Event()

    def __call__(self, _conn: object, _pid: int, _channel: str, payload: object) -> None:
        named = [s for s in str(payload).split(",") if s]
        self.subscriptions.update(named)
        self.raised |= not named
        self.wake.set()

    def take(self) -> tuple[bool, list[str]]:
        taken = self.raised, sorted(self.subscriptions)
        self.raised, self.subscriptions = False, set()
        self.wake.clear()
        return taken


async def _listen(ctx: dict[str, Any], notified: Notified) -> asyncpg.Connection[Any] | None:
    try:
        conn = await db.connect(ctx["settings"].database_url, connect_timeout=5)
        await conn.add_listener(CHANNEL, notified)
    except Exception as exc:
        log.warning("events_listen_failed", error=repr(exc))
        return None
    return conn


async def keep_dispatching(ctx: dict[str, Any]) -> None:
    """A task of each event worker beside arq's job loop: woken by the NOTIFY of a commit that
    raised events or fanned them out (a hint: without one it sweeps every SWEEP_INTERVAL
    anyway), it fans out and asks for the subscribers' jobs; every SWEEP_INTERVAL it also
    sweeps."""
    notified = Notified()
    listener: asyncpg.Connection[Any] | None = None
    next_sweep = 0.0
    more = False  # events are left to fan out
    try:
        while True:
            if listener is None or listener.is_closed():
                listener = await _listen(ctx, notified)
            rest = 0.0
            try:
                raised, subscriptions = notified.take()
                if raised or more:
                    done = await fan_out(ctx)
                    subscriptions = sorted({*subscriptions, *done.subscriptions})
                    more, rest = done.more, done.rest
                if subscriptions:
                    await enqueue(ctx["redis"], subscriptions)
                    rest = max(rest, DISPATCH_PAUSE)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_INTERVAL
                    await sweep_events(ctx)
                    more = True  # events whose NOTIFY was lost
            except Exception as exc:
                log.warning("events_dispatch_failed", error=repr(exc))
                await asyncio.sleep(RECONNECT_SECONDS)
            if more:
                await asyncio.sleep(rest)
                continue
            if rest:
                await asyncio.sleep(rest)
            timeout = SWEEP_INTERVAL if listener is not None else RECONNECT_SECONDS
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await notified.wake.wait()
    finally:
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)
