"""Delivering events to hub subscribers: a job per lane (one subscriber, one order), the
dispatcher that asks for those jobs when events are committed, and the sweeper.

The deliveries were written by the transaction that raised the events; a job only sends them,
the lane's oldest first, one at a time under a lease, so a subscriber gets the events of one
order in the order they happened. A job may run twice, or beside another of its lane: the
lease makes the second one step back. Every POST of one event carries the same `webhook-id`
(its eventId), so a subscriber can drop a duplicate (after a worker was killed mid-POST).

A slow or dead subscriber holds few of a worker's job slots: at most
ORDERHUB_EVENT_SUBSCRIBER_CONCURRENCY POSTs in flight each, and a circuit breaker of its own
that parks its lanes while it fails; the rest of the worker (order intake, SOM/TOM sends,
other subscribers) goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
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
from app.store.deliveries import CHANNEL, Lane

log = logs.get("orderhub.worker.events")
DISPATCH_BATCH = 1000
SWEEP_BATCH = 1000
# Between two sweeps, and the longest a dispatcher sleeps without a notification.
SWEEP_INTERVAL = 2.0
# After the listening connection is lost, before it is made again.
RECONNECT_SECONDS = 1.0
# A job keeps sending the lane's next events for this long, then hands over to a new run.
LANE_BUDGET_SECONDS = 5.0
# A lane over its subscriber's share of POSTs in flight tries again after up to this long.
TURN_WAIT_SECONDS = 0.2
DELIVER_MAX_TRIES = 1_000_000

_IN_FLIGHT: Counter[str] = Counter()
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


def lane_job_id(lane: Lane) -> str:
    """Unique per request: a job of the lane still finishing must not swallow the request
    for an event committed after its last look (the lease keeps two runs apart)."""
    return f"deliver:{lane[0]}:{lane[1]}:{uuid4().hex[:12]}"


async def enqueue_lanes(redis: Any, lanes: list[Lane]) -> int:
    await asyncio.gather(
        *(redis.enqueue_job(DELIVER_EVENTS, s, o, _job_id=lane_job_id((s, o))) for s, o in lanes)
    )
    return len(lanes)


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


async def deliver_events(ctx: dict[str, Any], subscription: str, order_id: str) -> str:
    try:
        return await _deliver(ctx, (subscription, order_id))
    except Retry:
        raise
    except Exception as exc:
        if db.is_transient(exc):
            raise Retry(defer=retry_delay(ctx.get("job_try", 1))) from exc
        raise


async def _deliver(ctx: dict[str, Any], lane: Lane) -> str:
    settings = ctx["settings"]
    subscription = lane[0]
    fields = {"subscription": subscription, "order_id": lane[1]}
    deadline = time.monotonic() + LANE_BUDGET_SECONDS
    circuit = _breaker(ctx, subscription)
    while True:
        wait = circuit.wait()
        if wait > 0:
            delay = parked_for(wait, settings.orderhub_breaker_cooldown_seconds)
            async with ctx["pool"].acquire() as conn:
                await delivery_service.defer(conn, lane, delay)
            _count("parked")
            raise Retry(defer=delay)
        if _IN_FLIGHT[subscription] >= settings.orderhub_event_subscriber_concurrency:
            raise Retry(defer=random.uniform(TURN_WAIT_SECONDS / 4, TURN_WAIT_SECONDS))
        lease = settings.orderhub_event_timeout_seconds + 10
        async with ctx["pool"].acquire() as conn:
            attempt = await delivery_service.next_attempt(conn, lane, lease)
        if isinstance(attempt, str):
            return attempt
        _IN_FLIGHT[subscription] += 1
        try:
            status, reason = await _post(ctx, attempt)
        finally:
            _IN_FLIGHT[subscription] -= 1
        async with ctx["pool"].acquire() as conn:
            outcome, latency = await delivery_service.attempted(
                conn, attempt, status, reason, retry_policy(ctx)
            )
        event = {"event_id": attempt.head.event_id, "attempt": attempt.head.attempts, **fields}
        _count(outcome.kind)
        if outcome.kind == "delivered":
            circuit.success()
            if latency is not None:
                metrics.EVENT_DELIVERY_LATENCY.observe(latency)
            log.info("event_delivered", status=status, **event)
            if time.monotonic() > deadline:
                raise Retry(defer=0)
            continue
        if status is None or status >= 500 or status in (408, 429):
            circuit.failure()
        else:
            circuit.success()  # it answered: it is up, it refused this one
        if outcome.kind == "retry":
            assert outcome.retry_in is not None
            log.info("event_retry", status=status, retry_in=round(outcome.retry_in, 2), **event)
            raise Retry(defer=outcome.retry_in)
        log.warning("event_dead", status=status, reason=reason, suspended=outcome.suspend, **event)
        if outcome.suspend:
            return "suspended"


def _count(outcome: str) -> None:
    """orderhub_event_deliveries_total: delivered, retry, dead, parked (breaker open)."""
    metrics.EVENT_DELIVERIES.labels(outcome).inc()


async def dispatch(ctx: dict[str, Any]) -> int:
    """Jobs for the lanes of deliveries committed since the last look."""
    enqueued = 0
    while True:
        async with ctx["pool"].acquire() as conn:
            lanes = await deliveries.claim_unenqueued(conn, DISPATCH_BATCH)
        if not lanes:
            return enqueued
        enqueued += await enqueue_lanes(ctx["redis"], lanes)


async def sweep_events(ctx: dict[str, Any]) -> int:
    """Jobs again for lanes whose head is due and whose job was lost (Redis flushed, a worker
    killed mid-POST: its lease runs out)."""
    settings = ctx["settings"]
    async with ctx["pool"].acquire() as conn:
        lanes = await deliveries.lost_lanes(
            conn, older_than=settings.orderhub_sweep_after_seconds, limit=SWEEP_BATCH
        )
    if not lanes:
        return 0
    await enqueue_lanes(ctx["redis"], lanes)
    log.info("events_swept", lanes=len(lanes))
    return len(lanes)


async def _listen(ctx: dict[str, Any], wake: asyncio.Event) -> asyncpg.Connection[Any] | None:
    try:
        conn = await db.connect(ctx["settings"].database_url, connect_timeout=5)
        await conn.add_listener(CHANNEL, lambda *_: wake.set())
    except Exception as exc:
        log.warning("events_listen_failed", error=repr(exc))
        return None
    return conn


async def keep_dispatching(ctx: dict[str, Any]) -> None:
    """A task of each worker beside arq's job loop: woken by the NOTIFY of a commit that wrote
    deliveries (a hint: without one it looks every SWEEP_INTERVAL anyway), it asks for the
    lanes' jobs; every SWEEP_INTERVAL it also sweeps."""
    wake = asyncio.Event()
    listener: asyncpg.Connection[Any] | None = None
    next_sweep = 0.0
    try:
        while True:
            if listener is None or listener.is_closed():
                listener = await _listen(ctx, wake)
            try:
                await dispatch(ctx)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + SWEEP_INTERVAL
                    await sweep_events(ctx)
            except Exception as exc:
                log.warning("events_dispatch_failed", error=repr(exc))
                await asyncio.sleep(RECONNECT_SECONDS)
            timeout = SWEEP_INTERVAL if listener is not None else RECONNECT_SECONDS
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await wake.wait()
            wake.clear()
    finally:
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)
